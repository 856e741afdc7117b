"""Wallet refusals."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class WalletError(DomainError):
    kind = ErrorKind.INVALID


class RecipientNotFound(WalletError):
    code = "wallet.recipient_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No Qianbao account uses this number. Check it and try again.")


class CannotPaySelf(WalletError):
    code = "wallet.self_transfer"
    message = N_("You cannot send money to yourself.")


class NoteTooLong(WalletError):
    code = "wallet.note_too_long"
    message = N_("The note can be at most 50 characters.")


class TransactionNotFound(WalletError):
    code = "wallet.transaction_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this transaction.")


class IdempotencyKeyMissing(WalletError):
    code = "wallet.idempotency_key_missing"
    message = N_("Send an Idempotency-Key header with every request that moves money.")


class CardNumberInvalid(WalletError):
    code = "wallet.card_invalid"
    message = N_("This card or account number is not valid. Check the digits and try again.")


class CardAlreadyBound(WalletError):
    code = "wallet.card_already_bound"
    kind = ErrorKind.CONFLICT
    message = N_("This card is already bound to your account.")


class HolderNameMismatch(WalletError):
    code = "wallet.holder_mismatch"
    message = N_("The card holder must be you: use the name on your account.")


class CardNotFound(WalletError):
    code = "wallet.card_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this card.")


class StatementMonthInvalid(WalletError):
    code = "wallet.statement_month_invalid"
    message = N_("Choose a month as YYYY-MM (for example 2026-10) that is not in the future.")


class TopupNotFound(WalletError):
    code = "wallet.topup_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this top-up.")


class TopupMethodUnavailable(WalletError):
    code = "wallet.topup_method_unavailable"
    message = N_("This way of topping up is not offered here. Choose another one.")


class CurrencyClosed(WalletError):
    code = "wallet.currency_closed"
    kind = ErrorKind.CONFLICT
    message = N_("Top-ups in {currency} are not taken at the moment.")


class TopupAmountOutOfRange(WalletError):
    code = "wallet.topup_amount_out_of_range"
    message = N_("A top-up by {method} must be from {minimum} to {maximum}.")


class TopupCardRequired(WalletError):
    code = "wallet.topup_card_required"
    message = N_("Choose the card to top up from.")


class WithdrawalNotFound(WalletError):
    code = "wallet.withdrawal_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this withdrawal.")


class CardInCoolingOff(WalletError):
    code = "wallet.card_cooling_off"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "For your safety, this card was bound shortly after a security change on your account "
        "(a new password, phone number, device or payment PIN, two-step verification turned off, "
        "or an unfreeze by customer service), so it cannot receive withdrawals until {until}."
    )


class WithdrawalMethodUnavailable(WalletError):
    code = "wallet.withdrawal_method_unavailable"
    message = N_("Withdrawals to this kind of account are not available.")


class WithdrawalNotReviewable(WalletError):
    code = "wallet.withdrawal_not_reviewable"
    kind = ErrorKind.CONFLICT
    message = N_("This withdrawal is not waiting for a review any more.")


class ReasonRequired(WalletError):
    code = "wallet.reason_required"
    message = N_("Give a reason (at least 5 characters): the customer will read it.")


# Held transfers (D2): the "Was this you?" answers. Codes under risk.*: the risk rules held them.
class HeldNotFound(WalletError):
    code = "risk.held_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such payment is waiting for your answer.")


class AlreadyAnswered(WalletError):
    code = "risk.already_answered"
    kind = ErrorKind.CONFLICT
    message = N_("This payment was already answered: {status}.")


class AnswerTooLate(WalletError):
    code = "risk.answer_too_late"
    kind = ErrorKind.CONFLICT
    message = N_("The time to answer has passed: the payment was cancelled and no money moved.")


class CurrencyNotOffered(WalletError):
    code = "wallet.currency_not_offered"
    message = N_("Wallets in {currency} are not offered.")


class SameCurrency(WalletError):
    code = "fx.same_currency"
    message = N_("Choose two different currencies to exchange.")


class RateUnavailable(WalletError):
    code = "fx.rate_unavailable"
    kind = ErrorKind.UNAVAILABLE
    message = N_("There is no exchange rate for {currency} right now. Try again later.")


class ExchangeTooSmall(WalletError):
    code = "fx.amount_too_small"
    message = N_("This amount is too small to exchange.")


class QuoteNotFound(WalletError):
    code = "fx.quote_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this quote. Ask for a new one.")


class QuoteExpired(WalletError):
    code = "fx.quote_expired"
    kind = ErrorKind.CONFLICT
    message = N_("This quote has expired: rates move. Ask for a new quote.")


class QuoteUsed(WalletError):
    code = "fx.quote_used"
    kind = ErrorKind.CONFLICT
    message = N_("This quote has already been used. Ask for a new quote to exchange again.")
