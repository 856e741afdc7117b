"""The finance console's refusals: each with a stable code and a message in both languages."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class FinanceStaffOnly(DomainError):
    code = "finance.staff_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only supervisors and admins may see and change the money settings.")


class UnknownSetting(DomainError):
    code = "finance.unknown_setting"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such money setting.")


class InvalidSetting(DomainError):
    code = "finance.invalid"
    kind = ErrorKind.INVALID
    message = N_("Check the value: {reason}")


class NothingChanges(DomainError):
    code = "finance.no_change"
    kind = ErrorKind.INVALID
    message = N_("Nothing would change: the setting already has this value.")


class ChangePending(DomainError):
    code = "finance.change_pending"
    kind = ErrorKind.CONFLICT
    message = N_("A change to this setting is already waiting for approval: decide on it first.")


class ChangeNotFound(DomainError):
    code = "finance.change_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such change.")


class ChangeDecided(DomainError):
    code = "finance.change_decided"
    kind = ErrorKind.CONFLICT
    message = N_("This change was already decided: it cannot be decided again.")


class SameApprover(DomainError):
    code = "finance.same_approver"
    kind = ErrorKind.FORBIDDEN
    message = N_("Another operator must approve this change: you proposed it.")


class StaleChange(DomainError):
    code = "finance.stale"
    kind = ErrorKind.CONFLICT
    message = N_("The setting has changed since this was proposed: reject it and propose it again.")
