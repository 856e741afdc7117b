"""USDT withdrawals to an address on a chain (B12).

1. ``quote``: the network's fee and minimum, the total taken from the wallet, and the limits —
   the address checked for the network (its format and checksum; an address of the other
   network is refused naming it), before the PIN is asked.
2. ``request``: with the PIN and an idempotency key (a replay returns the first withdrawal; the
   same key with another request is refused), under the user's withdrawal limits; the amount is
   held (wallet → the network's clearing account) and the fee too (wallet → fee revenue). An
   outbox event has it sent at once, and the watcher sends any left behind.
3. ``send``: the chain backend broadcasts it (the withdrawal's id is the idempotency key, so a
   retried send is the same transaction); both holds are posted — the money has left — and the
   transaction hash is kept. Refused before broadcasting: both holds are voided.
4. ``advance``: complete once the transaction has the network's confirmations; failed on chain
   (reverted): both entries are reversed by new entries and a row gives the money back."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.errors import IdempotencyKeyReused
from qianbao.kernel.i18n import N_
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.kernel.outbox import emit
from qianbao.ledger import CreateHold, Ledger, PostHold, Reverse, VoidHold
from qianbao.ledger.accounts import system_account_id
from qianbao.ledger.commands import check_key
from qianbao.ledger.errors import InsufficientFunds
from qianbao.rails.chain import ChainProvider, ChainTx, SendRefused
from qianbao.rails.chain_addresses import parse_address, shown_txid
from qianbao.risk.limits import Decision, Limit
from qianbao.wallet import chain, limits
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.chain_deposits import NOTIFY_TOPIC
from qianbao.wallet.chain_errors import ChainWithdrawalNotFound, WithdrawalBelowMinimum
from qianbao.wallet.errors import CurrencyNotOffered
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.models_chain import ChainWithdrawal
from qianbao.wallet.transfer import new_reference

SEND_TOPIC = "wallet.chain_withdrawal_requested"
FAILED_ON_CHAIN = N_("The transfer failed on the network (the token contract refused it).")
REFUSED = N_("The network refused the transfer before it was sent.")


@dataclass(frozen=True)
class Quote:
    offer: chain.Offer
    address: str  # canonical
    amount: Money
    fee: int
    total: int
    limit: Limit
    decision: Decision


async def quote(
    session: Any,
    settings: Any,
    user: User,
    *,
    network: str,
    address: str,
    amount: Money,
    require_funds: bool = False,
) -> Quote:
    """What a withdrawal would cost; the address and the amount are checked for the network."""
    offer = await chain.offer(session, settings, network)
    to = parse_address(offer.code, address)
    if amount.currency != chain.CURRENCY:
        raise CurrencyNotOffered(currency=amount.currency)
    if amount.minor < offer.minimum:
        raise WithdrawalBelowMinimum(
            network=offer.label, minimum=Money(offer.minimum, chain.CURRENCY)
        )
    total = amount.minor + offer.fee
    if require_funds:
        account = await wallet_account(session, user.id, chain.CURRENCY)
        if account.available < total:
            raise InsufficientFunds()
    limit, decision = await limits.allowance(
        session, user, "withdrawal", chain.CURRENCY, amount.minor
    )
    return Quote(offer, to, amount, offer.fee, total, limit, decision)


def _fingerprint(network: str, address: str, amount: Money) -> str:
    raw = f"{network}|{address}|{amount.minor}|{amount.currency}"
    return hashlib.sha256(raw.encode()).hexdigest()


async def _replay(session: Any, user: User, key: str, fingerprint: str) -> ChainWithdrawal | None:
    found = (
        await session.execute(
            select(ChainWithdrawal).where(
                ChainWithdrawal.user_id == user.id, ChainWithdrawal.idempotency_key == key
            )
        )
    ).scalar_one_or_none()
    if found is not None and found.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return found


async def request(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    network: str,
    address: str,
    amount: Money,
    pin: str,
    key: str,
) -> tuple[ChainWithdrawal, bool]:
    """Ask for a withdrawal; returns (withdrawal, replayed). Nothing is held on any refusal."""
    check_key(key)
    q = await quote(session, ctx.settings, user, network=network, address=address, amount=amount)
    fingerprint = _fingerprint(q.offer.code, q.address, amount)
    replay = await _replay(session, user, key, fingerprint)
    if replay is not None:
        return replay, True
    await identity_pin.verify_pin_in_transaction(session, ctx, user, pin)
    await lock_for_transaction(session, f"chain-withdraw:{user.id}")
    replay = await _replay(session, user, key, fingerprint)  # a twin that got the lock first
    if replay is not None:
        return replay, True
    await limits.enforce(session, user, "withdrawal", amount)
    account = await wallet_account(session, user.id, chain.CURRENCY)
    if account.available < q.total:
        raise InsufficientFunds()
    return await place(session, ctx.settings, user, q, key=key, fingerprint=fingerprint), False


async def place(
    session: Any, settings: Any, user: User, q: Quote, *, key: str, fingerprint: str
) -> ChainWithdrawal:
    """Hold the amount and the fee and record the withdrawal (after ``request``'s checks)."""
    cur, net = chain.CURRENCY, q.offer.code
    now = clock_of(session).now()
    account = await wallet_account(session, user.id, cur)
    withdrawal_id = uuid7()
    ledger = await Ledger.of_session(session)
    meta = {"chain_withdrawal": str(withdrawal_id), "user": str(user.id)}
    clearing = await system_account_id(ledger.conn, "bank_clearing", cur, chain.clearing_code(net))
    amount_hold = await ledger.hold(
        CreateHold(
            key=f"chain-withdrawal:{withdrawal_id}:amount",
            debit_account_id=account.id,
            credit_account_id=clearing,
            amount=q.amount.minor,
            currency=cur,
            entry_type="chain_withdrawal",
            metadata=meta,
        )
    )
    fee_hold = None
    if q.fee:
        fee_hold = await ledger.hold(
            CreateHold(
                key=f"chain-withdrawal:{withdrawal_id}:fee",
                debit_account_id=account.id,
                credit_account_id=await system_account_id(ledger.conn, "fee_revenue", cur),
                amount=q.fee,
                currency=cur,
                entry_type="chain_withdrawal_fee",
                metadata=meta,
            )
        )
    row = WalletTransaction(
        id=uuid7(),
        user_id=user.id,
        account_id=account.id,
        kind="withdrawal",
        direction="out",
        status="pending",
        currency=cur,
        amount=q.amount.minor,
        fee=q.fee,
        reference=new_reference(now),
        details={
            "method": "usdt",
            "network": net,
            "address": q.address,
            "chain_withdrawal_id": str(withdrawal_id),
        },
        created_at=now,
    )
    session.add(row)
    await session.flush()
    withdrawal = ChainWithdrawal(
        id=withdrawal_id,
        user_id=user.id,
        network=net,
        address=q.address,
        amount=q.amount.minor,
        fee=q.fee,
        status="queued",
        needed=q.offer.confirmations,
        transaction_id=row.id,
        amount_hold_id=amount_hold.hold_id,
        fee_hold_id=fee_hold.hold_id if fee_hold else None,
        idempotency_key=key,
        fingerprint=fingerprint,
        created_at=now,
        updated_at=now,
    )
    session.add(withdrawal)
    await session.flush()
    await emit(session, SEND_TOPIC, {"withdrawal_id": str(withdrawal_id)})
    return withdrawal


async def locked(session: Any, withdrawal_id: str | uuid.UUID) -> ChainWithdrawal | None:
    try:
        ident = uuid.UUID(str(withdrawal_id))
    except ValueError:
        return None
    found: ChainWithdrawal | None = await session.get(
        ChainWithdrawal, ident, with_for_update=True, populate_existing=True
    )
    return found


async def send(session: Any, provider: ChainProvider, withdrawal: ChainWithdrawal) -> None:
    """Broadcast a queued withdrawal (locked by the caller); safe to run again."""
    if withdrawal.status != "queued":
        return
    now = clock_of(session).now()
    row = await session.get(WalletTransaction, withdrawal.transaction_id, with_for_update=True)
    ledger = await Ledger.of_session(session)
    try:
        sent = await provider.send(
            session, withdrawal.network, withdrawal.address, withdrawal.amount,
            key=f"chain-withdrawal:{withdrawal.id}",
        )  # fmt: skip
    except SendRefused:
        await ledger.hold(
            VoidHold(f"chain-withdrawal:{withdrawal.id}:void", withdrawal.amount_hold_id)
        )
        if withdrawal.fee_hold_id is not None:
            await ledger.hold(
                VoidHold(f"chain-withdrawal:{withdrawal.id}:void-fee", withdrawal.fee_hold_id)
            )
        await _finish(session, withdrawal, row, "failed", "failed", failure=REFUSED)
        return
    entry = await ledger.post(
        PostHold(f"chain-withdrawal:{withdrawal.id}:send", withdrawal.amount_hold_id)
    )
    withdrawal.amount_entry_id = entry.entry_id
    last = entry
    if withdrawal.fee_hold_id is not None:
        last = await ledger.post(
            PostHold(f"chain-withdrawal:{withdrawal.id}:send-fee", withdrawal.fee_hold_id)
        )
        withdrawal.fee_entry_id = last.entry_id
    withdrawal.txid, withdrawal.status = sent.txid, "sent"
    withdrawal.network_fee = f"{sent.network_fee} {sent.fee_unit}"
    withdrawal.sent_at = withdrawal.updated_at = now
    # The money left the wallet now: the row moves here, its balance after the fee's posting.
    row.balance_after = next(p.balance_after for p in last.postings if p.amount < 0)
    row.listed_at = now
    row.details = {**row.details, "txid": shown_txid(withdrawal.network, sent.txid)}
    await session.flush()


async def advance(session: Any, withdrawal: ChainWithdrawal, tx: ChainTx | None) -> str:
    """Apply what the chain says of a sent withdrawal (locked by the caller)."""
    if withdrawal.status != "sent":
        return withdrawal.status
    row = await session.get(WalletTransaction, withdrawal.transaction_id, with_for_update=True)
    if tx is not None and tx.state == "failed":
        await _give_back(session, withdrawal, row)
        return withdrawal.status
    if tx is None:
        return withdrawal.status  # not seen by the node yet: ask again next time
    if tx.confirmations != withdrawal.confirmations:
        withdrawal.confirmations, withdrawal.block = tx.confirmations, tx.block
        withdrawal.updated_at = clock_of(session).now()
    if tx.state == "success" and tx.confirmations >= withdrawal.needed:
        await _finish(session, withdrawal, row, "completed", "completed")
    await session.flush()
    return withdrawal.status


async def _give_back(session: Any, withdrawal: ChainWithdrawal, row: WalletTransaction) -> None:
    """Failed on chain after the money left: both entries reversed, a row gives it back."""
    ledger = await Ledger.of_session(session)
    assert withdrawal.amount_entry_id is not None
    back = await ledger.post(
        Reverse(f"chain-withdrawal:{withdrawal.id}:return", withdrawal.amount_entry_id)
    )
    last = back
    if withdrawal.fee_entry_id is not None:
        last = await ledger.post(
            Reverse(f"chain-withdrawal:{withdrawal.id}:return-fee", withdrawal.fee_entry_id)
        )
    await _finish(session, withdrawal, row, "failed", "reversed", failure=FAILED_ON_CHAIN)
    now = clock_of(session).now()
    session.add(
        WalletTransaction(
            id=uuid7(),
            user_id=withdrawal.user_id,
            account_id=row.account_id,
            kind="withdrawal",
            direction="in",
            status="completed",
            currency=chain.CURRENCY,
            amount=withdrawal.amount + withdrawal.fee,
            balance_after=next(p.balance_after for p in last.postings if p.amount > 0),
            reference=new_reference(now),
            entry_id=back.entry_id,
            details={
                "method": "usdt",
                "network": withdrawal.network,
                "address": withdrawal.address,
                "returned_chain_withdrawal_id": str(withdrawal.id),
                "reason": FAILED_ON_CHAIN,
                "fee_back": withdrawal.fee,
            },
            created_at=now,
            listed_at=now,
        )
    )
    await session.flush()


async def _finish(
    session: Any,
    withdrawal: ChainWithdrawal,
    row: WalletTransaction,
    status: str,
    row_status: str,
    *,
    failure: str | None = None,
) -> None:
    now = clock_of(session).now()
    withdrawal.status, withdrawal.failure = status, failure
    withdrawal.finished_at = withdrawal.updated_at = now
    row.status = row_status
    if failure:
        row.details = {**row.details, "reason": failure}
    await session.flush()
    await emit(
        session,
        NOTIFY_TOPIC,
        {"transaction_id": str(row.id), "template": f"chain.withdrawal_{status}"},
    )


async def open_ones(
    session: Any, network: str, status: str, *, limit: int = 200
) -> list[ChainWithdrawal]:
    """Queued or sent withdrawals of a network, locked (a concurrent watcher skips them)."""
    rows = await session.execute(
        select(ChainWithdrawal)
        .where(ChainWithdrawal.network == network, ChainWithdrawal.status == status)
        .order_by(ChainWithdrawal.created_at)
        .with_for_update(skip_locked=True)
        .limit(limit)
    )
    return list(rows.scalars())


async def get(session: Any, user_id: uuid.UUID, withdrawal_id: str) -> ChainWithdrawal:
    """One of the user's own withdrawals; anyone else's is simply not found."""
    try:
        ident = uuid.UUID(str(withdrawal_id))
    except ValueError:
        raise ChainWithdrawalNotFound() from None
    found = (
        await session.execute(
            select(ChainWithdrawal).where(
                ChainWithdrawal.id == ident, ChainWithdrawal.user_id == user_id
            )
        )
    ).scalar_one_or_none()
    if found is None:
        raise ChainWithdrawalNotFound()
    return found


async def of_user(session: Any, user_id: uuid.UUID, *, limit: int = 20) -> list[ChainWithdrawal]:
    rows = await session.execute(
        select(ChainWithdrawal)
        .where(ChainWithdrawal.user_id == user_id)
        .order_by(ChainWithdrawal.created_at.desc(), ChainWithdrawal.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())
