"""The USDT-on-chain API: the networks, my deposit address per network, my deposits with their
confirmations (and reporting one by its hash), withdrawals to an address (PIN;
``Idempotency-Key``) and their status; with the development chain, test USDT to my address."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, identity_ctx, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of, settings_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.kernel.translations import gettext
from qianbao.rails.chain import NETWORKS
from qianbao.rails.chain_addresses import network_of, shown_txid
from qianbao.wallet import chain, chain_deposits, chain_withdrawals
from qianbao.wallet.api import MoneyOut, money
from qianbao.wallet.errors import IdempotencyKeyMissing
from qianbao.wallet.models_chain import ChainDeposit, ChainWithdrawal

router = APIRouter(prefix="/api/v1/wallet/chain", tags=["usdt"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]
NetworkIn = Annotated[str, Field(max_length=16, examples=["TRC20"], description="TRC20 or ERC20")]

WARNING = N_(
    "Send only USDT on {network} to this address. Coins sent on another network, or another "
    "coin, are lost."
)


class NetworkOut(BaseModel):
    network: str = Field(description="TRC20 or ERC20")
    label: str = Field(examples=["TRC-20"])
    chain: str = Field(examples=["TRON"])
    decimals: int
    confirmations: int = Field(description="Confirmations before a deposit is credited")
    withdrawal_fee: MoneyOut
    minimum_withdrawal: MoneyOut


class AddressOut(BaseModel):
    network: str
    address: str
    warning: str = Field(description="In the caller's language")


class DepositOut(BaseModel):
    id: str
    network: str
    txid: str
    log_index: int
    amount: MoneyOut
    status: Literal["pending", "credited", "suspense", "dropped"]
    confirmations: int
    needed: int
    seen_at: datetime
    credited_at: datetime | None
    transaction_id: str = Field(description="The wallet row (GET /api/v1/wallet/transactions/…)")


class ClaimIn(BaseModel):
    network: NetworkIn
    txid: str = Field(max_length=80, description="The transaction hash (64 hex digits)")


class WithdrawIn(BaseModel):
    network: NetworkIn
    address: str = Field(max_length=80)
    amount: str = Field(max_length=32, examples=["100.50"], description="USDT, at most 6 decimals")
    pin: str = Field(max_length=32)


class WithdrawalOut(BaseModel):
    id: str
    network: str
    address: str
    amount: MoneyOut
    fee: MoneyOut
    total: MoneyOut = Field(description="Taken from the wallet: the amount and the fee")
    status: Literal["queued", "sent", "completed", "failed"]
    txid: str | None
    confirmations: int
    needed: int
    network_fee: str | None = Field(description="What the operator's wallet paid the network")
    failure: str | None = Field(description="Why it failed, in the caller's language")
    created_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    replayed: bool = False


class DevSendIn(BaseModel):
    network: NetworkIn
    amount: str = Field(max_length=32, examples=["100"])
    address: str | None = Field(
        default=None, max_length=80, description="Where to (default: my deposit address)"
    )


class DevSendOut(BaseModel):
    network: str
    address: str
    amount: MoneyOut
    txid: str


def deposit_out(d: ChainDeposit) -> DepositOut:
    return DepositOut(
        id=str(d.id),
        network=d.network,
        txid=shown_txid(d.network, d.txid),
        log_index=d.log_index,
        amount=money(d.amount, chain.CURRENCY),
        status=d.status,
        confirmations=min(d.confirmations, d.needed) if d.status == "credited" else d.confirmations,
        needed=d.needed,
        seen_at=d.seen_at,
        credited_at=d.credited_at,
        transaction_id=str(d.transaction_id),
    )


def withdrawal_out(w: ChainWithdrawal, locale: str, replayed: bool = False) -> WithdrawalOut:
    return WithdrawalOut(
        id=str(w.id),
        network=w.network,
        address=w.address,
        amount=money(w.amount, chain.CURRENCY),
        fee=money(w.fee, chain.CURRENCY),
        total=money(w.amount + w.fee, chain.CURRENCY),
        status=w.status,
        txid=shown_txid(w.network, w.txid) if w.txid else None,
        confirmations=w.confirmations,
        needed=w.needed,
        network_fee=w.network_fee,
        failure=gettext(locale, w.failure) if w.failure else None,
        created_at=w.created_at,
        sent_at=w.sent_at,
        finished_at=w.finished_at,
        replayed=replayed,
    )


@router.get("/networks", response_model=list[NetworkOut], summary="The networks for USDT")
async def networks(request: Request, s: DbSession, caller: Me) -> list[NetworkOut]:
    """Errors: `wallet.currency_not_offered` (USDT is not offered), `chain.unavailable`."""
    return [
        NetworkOut(
            network=o.code,
            label=o.label,
            chain=o.network.chain,
            decimals=6,
            confirmations=o.confirmations,
            withdrawal_fee=money(o.fee, chain.CURRENCY),
            minimum_withdrawal=money(o.minimum, chain.CURRENCY),
        )
        for o in await chain.offers(s, settings_of(request))
    ]


@router.get(
    "/networks/{network}/address",
    response_model=AddressOut,
    summary="My deposit address on a network (always the same)",
)
async def my_address(network: str, request: Request, s: DbSession, caller: Me) -> AddressOut:
    """Errors: `chain.network_unknown`, `chain.unavailable`, `wallet.currency_not_offered`."""
    found = await chain.deposit_address(s, settings_of(request), caller.user.id, network)
    label = NETWORKS[found.network].label
    return AddressOut(
        network=found.network,
        address=found.address,
        warning=gettext(locale_of(request), WARNING, network=label),
    )


@router.get("/deposits", response_model=list[DepositOut], summary="My deposits, newest first")
async def my_deposits(
    request: Request,
    s: DbSession,
    caller: Me,
    network: Annotated[str | None, Query(max_length=16)] = None,
) -> list[DepositOut]:
    code = network_of(network) if network else None
    found = await chain_deposits.of_user(s, caller.user.id, network=code, limit=50)
    return [deposit_out(d) for d in found]


@router.post(
    "/deposits",
    response_model=list[DepositOut],
    status_code=201,
    summary="Report a deposit by its transaction hash (when it does not show up)",
)
async def report_deposit(
    body: ClaimIn, request: Request, s: DbSession, caller: Me
) -> list[DepositOut]:
    """The chain is asked; the transfers of that transaction to my address are recorded and
    credited once they have their confirmations. No balance changes here. Errors:
    `chain.txid_invalid`, `chain.deposit_not_found`, `chain.deposit_already_seen` (409)."""
    found = await chain_deposits.claim(
        s, settings_of(request), caller.user.id, network=body.network, txid=body.txid
    )
    return [deposit_out(d) for d in found]


@router.post(
    "/withdrawals",
    response_model=WithdrawalOut,
    status_code=201,
    summary="Withdraw USDT to an address (PIN; Idempotency-Key)",
)
async def withdraw(
    body: WithdrawIn,
    request: Request,
    s: DbSession,
    caller: Me,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> WithdrawalOut:
    """The amount and the network's fee are held, then sent; complete after the confirmations.
    Errors: `money.*` (`money.too_many_decimals`: more than 6 decimals), `chain.address_invalid`,
    `chain.address_checksum`, `chain.address_wrong_network`, `chain.withdrawal_below_minimum`,
    `identity.pin_*`, `risk.limit_exceeded`, `ledger.insufficient_funds`,
    `idempotency.key_reused`. A replay with the same key returns the first withdrawal."""
    if not idempotency_key:
        raise IdempotencyKeyMissing()
    done, replayed = await chain_withdrawals.request(
        s,
        identity_ctx(request),
        caller.user,
        network=body.network,
        address=body.address,
        amount=Money.parse(body.amount.strip(), chain.CURRENCY, allow_zero=False),
        pin=body.pin,
        key=idempotency_key,
    )
    return withdrawal_out(done, locale_of(request), replayed)


@router.get("/withdrawals", response_model=list[WithdrawalOut], summary="My withdrawals")
async def my_withdrawals(request: Request, s: DbSession, caller: Me) -> list[WithdrawalOut]:
    found = await chain_withdrawals.of_user(s, caller.user.id, limit=50)
    return [withdrawal_out(w, locale_of(request)) for w in found]


@router.get(
    "/withdrawals/{withdrawal_id}", response_model=WithdrawalOut, summary="One of my withdrawals"
)
async def my_withdrawal(
    withdrawal_id: str, request: Request, s: DbSession, caller: Me
) -> WithdrawalOut:
    found = await chain_withdrawals.get(s, caller.user.id, withdrawal_id)
    return withdrawal_out(found, locale_of(request))


@router.post(
    "/dev/send",
    response_model=DevSendOut,
    status_code=201,
    summary="Development chain only: send test USDT (to my deposit address by default)",
)
async def dev_send(body: DevSendIn, request: Request, s: DbSession, caller: Me) -> DevSendOut:
    """Refused (`chain.dev_only`, 404) unless the development chain is the backend — never in
    production. The transfer goes into the next block; the watcher credits it after the
    confirmations, as any deposit."""
    value = Money.parse(body.amount.strip(), chain.CURRENCY, allow_zero=False)
    address, txid = await chain_deposits.send_test_usdt(
        s, settings_of(request), caller.user.id, network=body.network, amount=value,
        address=body.address,
    )  # fmt: skip
    code = network_of(body.network)
    return DevSendOut(
        network=code,
        address=address,
        amount=money(value.minor, chain.CURRENCY),
        txid=shown_txid(code, txid),
    )
