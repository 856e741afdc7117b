"""Live-chat refusals."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class ConversationNotFound(DomainError):
    code = "chat.conversation_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this conversation.")


class ConversationClosed(DomainError):
    code = "chat.conversation_closed"
    kind = ErrorKind.CONFLICT
    message = N_("This conversation is closed. Start a new one to write to us again.")


class MessageInvalid(DomainError):
    code = "chat.message_invalid"
    kind = ErrorKind.INVALID
    message = N_("Write a message of at most {limit} characters.")


class AttachmentInvalid(DomainError):
    code = "chat.attachment_invalid"
    kind = ErrorKind.INVALID
    message = N_("Only PNG or JPEG images of at most {limit} can be sent.")


class AgentsOnly(DomainError):
    code = "chat.agents_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only customer service staff can answer chats.")


class CapacityInvalid(DomainError):
    code = "chat.capacity_invalid"
    kind = ErrorKind.INVALID
    message = N_("Choose between 1 and {limit} conversations at once.")


class NoEmailAddress(DomainError):
    code = "chat.no_email"
    kind = ErrorKind.CONFLICT
    message = N_("Add and verify an e-mail address in the security centre first.")


class TooFast(DomainError):
    code = "chat.too_fast"
    kind = ErrorKind.RATE_LIMITED
    message = N_("You are sending messages very fast. Wait a moment, then send again.")


class TransferUnavailable(DomainError):
    code = "chat.transfer_unavailable"
    kind = ErrorKind.CONFLICT
    message = N_(
        "This agent cannot take the conversation now: they are offline or have no room. "
        "Choose another one."
    )
