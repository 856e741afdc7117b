"""Ledger refusals. Each has a stable code; none changes any balance."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class LedgerError(DomainError):
    kind = ErrorKind.CONFLICT


class AccountNotFound(LedgerError):
    code = "ledger.account_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("The account does not exist.")


class InsufficientFunds(LedgerError):
    code = "ledger.insufficient_funds"
    message = N_("The balance is not enough for this payment.")


class WouldGoPositive(LedgerError):
    code = "ledger.would_go_positive"
    message = N_("This account cannot receive more money.")


class AccountFrozen(LedgerError):
    code = "ledger.account_frozen"
    message = N_("The account is frozen: money cannot move in or out.")


class AccountDebitFrozen(LedgerError):
    code = "ledger.account_debit_frozen"
    message = N_("The account is frozen for payments: money cannot leave it.")


class AccountClosed(LedgerError):
    code = "ledger.account_closed"
    message = N_("The account is closed.")


class AccountNotEmpty(LedgerError):
    code = "ledger.account_not_empty"
    message = N_("Only an account with a zero balance and no holds can be closed.")


class CurrencyMismatch(LedgerError):
    code = "ledger.currency_mismatch"
    kind = ErrorKind.INVALID
    message = N_("The account holds another currency.")


class InvalidEntry(LedgerError):
    code = "ledger.invalid_entry"
    kind = ErrorKind.INVALID
    message = N_("The entry is not valid: {reason}")


class HoldNotFound(LedgerError):
    code = "ledger.hold_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("The hold does not exist.")


class HoldNotPending(LedgerError):
    code = "ledger.hold_not_pending"
    message = N_("The hold is already {status}.")


class HoldExpired(LedgerError):
    code = "ledger.hold_expired"
    message = N_("The hold has expired and can no longer be used.")


class HoldAmountExceeded(LedgerError):
    code = "ledger.hold_amount_exceeded"
    kind = ErrorKind.INVALID
    message = N_("The amount is larger than the amount held.")


class EntryNotFound(LedgerError):
    code = "ledger.entry_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("The entry does not exist.")


class AlreadyReversed(LedgerError):
    code = "ledger.already_reversed"
    message = N_("This entry has already been reversed.")


class LedgerBusy(LedgerError):
    code = "ledger.busy"
    kind = ErrorKind.UNAVAILABLE
    message = N_("The ledger is busy. Please try again.")
