"""Ticket refusals: each says what is wrong in words the customer or agent understands."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class TicketNotFound(DomainError):
    code = "tickets.not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this ticket.")


class AttachmentNotFound(DomainError):
    code = "tickets.attachment_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this attachment.")


class TicketInvalid(DomainError):
    code = "tickets.invalid"
    kind = ErrorKind.INVALID
    message = N_("Check the ticket: {problem}")


class AttachmentRefused(DomainError):
    code = "tickets.attachment_refused"
    kind = ErrorKind.INVALID
    message = N_(
        "The attachment “{name}” was refused: only PNG and JPEG pictures, PDF documents and "
        "plain text files are accepted."
    )


class AttachmentTooLarge(DomainError):
    code = "tickets.attachment_too_large"
    kind = ErrorKind.INVALID
    message = N_("The attachment “{name}” is too large: at most {limit} per file.")


class TooManyAttachments(DomainError):
    code = "tickets.too_many_attachments"
    kind = ErrorKind.INVALID
    message = N_("At most {limit} attachments per message.")


class TicketClosed(DomainError):
    code = "tickets.closed"
    kind = ErrorKind.CONFLICT
    message = N_("This ticket is closed. Open a new ticket if you still need help.")


class StatusChangeRefused(DomainError):
    code = "tickets.status_refused"
    kind = ErrorKind.CONFLICT
    message = N_("This ticket cannot change from “{old}” to “{new}”.")


class MergeRefused(DomainError):
    code = "tickets.merge_refused"
    kind = ErrorKind.CONFLICT
    message = N_("These tickets cannot be merged: {problem}")


class NoEmailAddress(DomainError):
    code = "tickets.no_email"
    kind = ErrorKind.CONFLICT
    message = N_("Add and verify an e-mail address in the security centre first.")


class StaffOnly(DomainError):
    code = "tickets.staff_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only customer service staff can do this.")


class MailRefused(DomainError):
    """An inbound e-mail that cannot become a ticket message (the SMTP listener answers 5xx)."""

    code = "tickets.mail_refused"
    kind = ErrorKind.INVALID
    message = N_("The e-mail was refused: {problem}")
