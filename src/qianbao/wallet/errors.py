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
