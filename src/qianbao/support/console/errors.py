"""Console refusals, in words an agent or a customer understands."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class ConsoleStaffOnly(DomainError):
    code = "console.staff_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only support staff can do this.")


class SupervisorsOnly(DomainError):
    code = "console.supervisors_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only supervisors and admins can do this.")


class CustomerNotFound(DomainError):
    code = "console.customer_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this customer.")


class ReasonRequired(DomainError):
    code = "console.reason_required"
    kind = ErrorKind.INVALID
    message = N_("Give a reason (at least 5 characters); the customer and the audit log see it.")


class ArticleNotPublished(DomainError):
    code = "console.article_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("There is no published help article with this address.")


class EscalationNotFound(DomainError):
    code = "console.escalation_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this escalation.")


class EscalationTaken(DomainError):
    code = "console.escalation_taken"
    kind = ErrorKind.CONFLICT
    message = N_("This escalation has already been taken.")


class RatingRefused(DomainError):
    code = "support.rating_refused"
    kind = ErrorKind.CONFLICT
    message = N_("You can rate the help you got once, after the ticket is resolved.")


class ChatRatingRefused(RatingRefused):
    message = N_("You can rate a conversation once, after it is closed.")


class RatingInvalid(DomainError):
    code = "support.rating_invalid"
    kind = ErrorKind.INVALID
    message = N_("Choose a score from 1 to 5.")


class ReportRangeInvalid(DomainError):
    code = "console.report_range_invalid"
    kind = ErrorKind.INVALID
    message = N_("Choose a start date before the end date, at most 366 days apart.")
