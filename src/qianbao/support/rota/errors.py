"""Refusals of the rota."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class ShiftInvalid(DomainError):
    code = "rota.shift_invalid"
    kind = ErrorKind.INVALID
    message = N_(
        "Give a staff member with two-step verification, a weekday and a start and end time "
        "(HH:MM)."
    )


class ShiftNotFound(DomainError):
    code = "rota.shift_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("This shift is not in the rota.")
