"""Refusals of USDT on chains (the address and hash refusals are ``rails.chain_addresses``')."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class ChainUnavailable(DomainError):
    code = "chain.unavailable"
    kind = ErrorKind.CONFLICT
    message = N_("USDT deposits and withdrawals on chains are not available.")


class DepositAlreadySeen(DomainError):
    code = "chain.deposit_already_seen"
    kind = ErrorKind.CONFLICT
    message = N_(
        "We already have this deposit: it is credited once, when it has enough confirmations."
    )


class DepositNotFound(DomainError):
    code = "chain.deposit_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_(
        "This transaction sends no USDT to your address on {network}. Check the network and "
        "the hash."
    )


class WithdrawalBelowMinimum(DomainError):
    code = "chain.withdrawal_below_minimum"
    kind = ErrorKind.INVALID
    message = N_("The smallest withdrawal on {network} is {minimum}.")


class ChainWithdrawalNotFound(DomainError):
    code = "chain.withdrawal_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this withdrawal.")


class DevChainOnly(DomainError):
    code = "chain.dev_only"
    kind = ErrorKind.NOT_FOUND
    message = N_("Test USDT comes only from the development chain, which is not in use here.")
