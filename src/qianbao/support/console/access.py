"""Who may use the console: staff roles with two-step verification on (checked here as well as
at the edge, so no caller of these services can skip it); supervisors and admins for the audit
log, escalations and reports."""

from __future__ import annotations

from typing import Any

from qianbao.identity.errors import StaffNeedsTwoFactor
from qianbao.identity.models import STAFF_ROLES
from qianbao.support.console.errors import ConsoleStaffOnly, SupervisorsOnly

SUPERVISOR_ROLES = ("supervisor", "admin")


def require_staff(user: Any) -> None:
    if user is None or user.role not in STAFF_ROLES:
        raise ConsoleStaffOnly()
    if user.totp_enabled_at is None:
        raise StaffNeedsTwoFactor()


def require_supervisor(user: Any) -> None:
    require_staff(user)
    if user.role not in SUPERVISOR_ROLES:
        raise SupervisorsOnly()


def is_supervisor(user: Any) -> bool:
    return user.role in SUPERVISOR_ROLES
