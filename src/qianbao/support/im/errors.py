"""Refusals of the messaging channels' webhooks."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class PushRefused(DomainError):
    """A push without a valid signature / secret token, or too old: 403, nothing handled."""

    code = "im.push_refused"
    kind = ErrorKind.FORBIDDEN
    message = N_("This request could not be verified.")


class PushInvalid(DomainError):
    """A push we cannot read (malformed XML or JSON, a DTD or entity declaration)."""

    code = "im.push_invalid"
    kind = ErrorKind.INVALID
    message = N_("This request could not be read.")


class ChannelOff(DomainError):
    code = "im.channel_off"
    kind = ErrorKind.NOT_FOUND
    message = N_("This messaging channel is not enabled.")


class LinkNotFound(DomainError):
    code = "im.link_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("This linked account was not found.")
