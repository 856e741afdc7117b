"""What the bank rails refuse, with stable codes (docs/api.md)."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class BankingError(DomainError):
    kind = ErrorKind.INVALID


class FileAlreadyImported(BankingError):
    code = "bank.file_already_imported"
    kind = ErrorKind.CONFLICT
    message = N_("This file was already imported on {when} ({filename}). Nothing was changed.")


class StatementAlreadyImported(BankingError):
    code = "bank.statement_already_imported"
    kind = ErrorKind.CONFLICT
    message = N_(
        "Statement {statement} of account {account} was already imported. Nothing was changed."
    )


class UnknownReceivingAccount(BankingError):
    code = "bank.account_unknown"
    message = N_(
        "The statement is for account {account}, which is not one of the receiving accounts. "
        "Nothing was imported."
    )


class StatementCurrencyMismatch(BankingError):
    code = "bank.currency_mismatch"
    message = N_(
        "The statement of account {account} is in {currency}; the account holds {expected}. "
        "Nothing was imported."
    )


class StatementGap(BankingError):
    code = "bank.statement_gap"
    message = N_(
        "Statement {statement} opens with {opening}, but the last statement of account "
        "{account} closed with {closing}: a statement is missing. Nothing was imported."
    )


class FileTooLarge(BankingError):
    code = "bank.file_too_large"
    message = N_("The file is larger than {mb} MB. Nothing was imported.")


class LineNotFound(BankingError):
    code = "bank.line_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such statement line.")


class LineNotInSuspense(BankingError):
    code = "bank.line_not_in_suspense"
    kind = ErrorKind.CONFLICT
    message = N_("This item is no longer in suspense: another operator has dealt with it.")


class ProposalPending(BankingError):
    code = "bank.proposal_pending"
    kind = ErrorKind.CONFLICT
    message = N_("An action on this item is waiting for a second operator: approve or reject it.")


class NoProposal(BankingError):
    code = "bank.no_proposal"
    kind = ErrorKind.CONFLICT
    message = N_("Nothing on this item is waiting for approval.")


class SameOperator(BankingError):
    code = "bank.same_operator"
    kind = ErrorKind.FORBIDDEN
    message = N_("Another operator must approve this: you proposed it.")


class ReasonNeeded(BankingError):
    code = "bank.reason_required"
    message = N_("Say why (at least 5 characters): it goes into the audit log.")


class ReferenceNotFound(BankingError):
    code = "bank.reference_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No wallet has the reference code {code}.")


class WrongDirection(BankingError):
    code = "bank.wrong_direction"
    message = N_("Only money that came in can be credited to a wallet.")


class CreditNotPossible(BankingError):
    code = "bank.credit_refused"
    kind = ErrorKind.CONFLICT
    message = N_("The wallet cannot take this money: {reason}")


class BookingUnknown(BankingError):
    code = "bank.booking_unknown"
    message = N_("Choose what to book the item to.")


class NoReceivingAccount(BankingError):
    code = "bank.no_receiving_account"
    kind = ErrorKind.CONFLICT
    message = N_("There is no active receiving account in {currency} to pay out from.")


class BatchNotFound(BankingError):
    code = "bank.batch_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such payout file.")


class BatchState(BankingError):
    code = "bank.batch_state"
    kind = ErrorKind.CONFLICT
    message = N_(
        "The payout file is not in a state that allows this "
        "(approve a draft, release an approved file)."
    )


class UnknownStatusReport(BankingError):
    code = "bank.status_report_unknown"
    kind = ErrorKind.CONFLICT
    message = N_(
        "The status report answers file {file}, which is not a released payout file. "
        "Nothing was changed."
    )


class PayerAccountUnknown(BankingError):
    code = "bank.payer_account_unknown"
    kind = ErrorKind.INVALID
    message = N_("It cannot be sent back: the bank did not say which account the money came from.")
