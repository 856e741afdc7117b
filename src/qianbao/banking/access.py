"""Who may work the bank rails: supervisors and admins with two-step verification on (checked
in the services' callers and again here, so no route can skip it)."""

from __future__ import annotations

from typing import Any

from qianbao.identity.errors import StaffNeedsTwoFactor
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_

FINANCE_ROLES = ("supervisor", "admin")


class FinanceOnly(DomainError):
    code = "bank.finance_only"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "Only supervisors and admins may work on the bank accounts and the suspense queue."
    )


def require_finance(user: Any) -> None:
    if user is None or user.role not in FINANCE_ROLES:
        raise FinanceOnly()
    if user.totp_enabled_at is None:
        raise StaffNeedsTwoFactor()
