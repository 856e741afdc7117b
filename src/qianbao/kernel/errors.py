"""Domain errors: a stable ``code``, a translatable message and a semantic kind. No HTTP here:
``qianbao.web.errors`` maps each kind to a status once, for the API and for pages."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from qianbao.kernel.i18n import N_


class ErrorKind(StrEnum):
    INVALID = "invalid"  # the request is malformed or breaks a rule
    NOT_FOUND = "not_found"  # no such object, or not yours (we never say which)
    CONFLICT = "conflict"  # the state does not allow it (already done, insufficient funds)
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # a dependency is down; try again later


class DomainError(Exception):
    """Base of every error a user or a client may see.

    Subclasses set ``code`` (stable, dotted: ``wallet.insufficient_funds``), ``kind`` and a
    ``message`` marked with ``N_``; ``params`` fill ``{placeholders}`` in the message.
    """

    code: ClassVar[str] = "error"
    kind: ClassVar[ErrorKind] = ErrorKind.INVALID
    message: ClassVar[str] = N_("Something went wrong.")

    def __init__(self, message: str | None = None, /, **params: Any) -> None:
        self.params = params
        if message is not None:
            self.message = message  # type: ignore[misc]
        super().__init__(self.code)

    def retry_after_s(self) -> int | None:
        """When a refusal for now (a limit) may be tried again: from a ``seconds`` or
        ``minutes`` parameter; answered as ``Retry-After`` and ``retry_after_s``."""
        if self.kind is not ErrorKind.RATE_LIMITED:
            return None
        if isinstance(self.params.get("seconds"), int):
            return max(1, int(self.params["seconds"]))
        if isinstance(self.params.get("minutes"), int):
            return max(1, int(self.params["minutes"])) * 60
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, params={self.params!r})"


class NotFound(DomainError):
    code = "not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find what you asked for.")


class ValidationFailed(DomainError):
    code = "validation_failed"
    kind = ErrorKind.INVALID
    message = N_("Some of the information you sent is not valid.")


class Conflict(DomainError):
    code = "conflict"
    kind = ErrorKind.CONFLICT
    message = N_("This cannot be done in the current state.")


class ServiceUnavailable(DomainError):
    code = "unavailable"
    kind = ErrorKind.UNAVAILABLE
    message = N_("The service is temporarily unavailable. Please try again shortly.")


class OperatorOnly(DomainError):
    code = "auth.operator_required"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("Sign in as an operator to use this endpoint.")


class IdempotencyKeyReused(DomainError):
    code = "idempotency.key_reused"
    kind = ErrorKind.CONFLICT
    message = N_("This idempotency key was already used for a different request.")


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency.key_invalid"
    kind = ErrorKind.INVALID
    message = N_("Send an Idempotency-Key of 1 to 200 visible characters with this request.")
