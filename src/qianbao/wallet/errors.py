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
