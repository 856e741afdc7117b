"""Who may use the finance console: supervisors and admins with two-step verification on (the
roles of the bank rails, ``banking.access.FINANCE_ROLES``), checked by every service here."""

from __future__ import annotations

from typing import Any

from qianbao.banking.access import FINANCE_ROLES
from qianbao.finance.errors import FinanceStaffOnly
from qianbao.identity.errors import StaffNeedsTwoFactor


def require_finance_staff(user: Any) -> None:
    if user is None or user.role not in FINANCE_ROLES:
        raise FinanceStaffOnly()
    if user.totp_enabled_at is None:
        raise StaffNeedsTwoFactor()
