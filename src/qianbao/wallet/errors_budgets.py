"""Refusals of the spending insights and budgets (B13): stable ``budget.*`` codes."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class BudgetError(DomainError):
    kind = ErrorKind.INVALID


class UnknownCategory(BudgetError):
    code = "budget.unknown_category"
    message = N_("Choose one of the spending categories.")


class UnknownCurrency(BudgetError):
    code = "budget.unknown_currency"
    message = N_("This currency is not supported.")


class AmountInvalid(BudgetError):
    code = "budget.amount_invalid"
    message = N_("Enter the budget as an amount such as 500 or 12.50.")


class AmountTooManyDecimals(BudgetError):
    code = "budget.amount_decimals"
    message = N_("This amount has more decimal places than {currency} allows ({places}).")


class AmountNotPositive(BudgetError):
    code = "budget.amount_not_positive"
    message = N_("The budget must be more than zero.")


class AmountTooLarge(BudgetError):
    code = "budget.amount_too_large"
    message = N_("This budget is too large.")


class MonthInvalid(BudgetError):
    code = "budget.month_invalid"
    message = N_("Give the month year first, such as 2026-12.")


class MonthInFuture(BudgetError):
    code = "budget.month_in_future"
    message = N_("This month has not begun yet.")


class BudgetNotFound(BudgetError):
    code = "budget.not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("There is no budget for this category.")
