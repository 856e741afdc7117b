"""Refusals of the official-channel registry, the lookups and call-back requests."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class ChannelInvalid(DomainError):
    code = "channels.invalid"
    kind = ErrorKind.INVALID
    message = N_("Check the channel: {problem}")


class ChannelExists(DomainError):
    code = "channels.exists"
    kind = ErrorKind.CONFLICT
    message = N_("This channel is already in the registry.")


class ChannelNotFound(DomainError):
    code = "channels.not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this channel.")


class OperatorsOnly(DomainError):
    code = "channels.operators_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only supervisors and administrators manage the official channels.")


class StaffOnly(DomainError):
    code = "channels.staff_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only customer service staff can do this.")


class LookupLimit(DomainError):
    code = "channels.lookup_limit"
    kind = ErrorKind.RATE_LIMITED
    message = N_("Too many checks from your connection. Please wait a few minutes and try again.")


class CallbackInvalid(DomainError):
    code = "callbacks.invalid"
    kind = ErrorKind.INVALID
    message = N_("Choose a time and a topic for the call-back.")


class CallbackOpen(DomainError):
    code = "callbacks.already_open"
    kind = ErrorKind.CONFLICT
    message = N_("You already asked us to call you back. We will call you soon.")


class CallbackNotFound(DomainError):
    code = "callbacks.not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this call-back request.")
