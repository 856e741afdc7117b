"""Support tickets and e-mail (E3, E5, E6, E7): categories with intake fields, a link to one of
the user's own transactions, statuses, priority, SLA in business hours (paused while waiting for
the customer), assignment, internal notes, canned replies, merge, transcripts; mail in through an
SMTP listener (``mail_in``) and agent replies out by e-mail (``mail_out``)."""

from qianbao.support.tickets.intake import CATEGORIES
from qianbao.support.tickets.sla import BusinessCalendar, add_business_hours

__all__ = ["CATEGORIES", "BusinessCalendar", "add_business_hours"]
