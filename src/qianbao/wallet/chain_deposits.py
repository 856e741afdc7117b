"""USDT deposits from a chain (B12).

A USDT transfer to a user's deposit address becomes a pending deposit and a pending wallet row
("waiting for confirmations 3/20") as soon as the chain shows it in a block. Each poll updates
its confirmations; when they reach the network's number the deposit is credited — the
network's clearing account → the user's USDT wallet, one ledger entry keyed by the network, the
transaction hash and the log index — and the user is told. The same transfer reported again
(every poll reads the last blocks again; two watchers may run at once) is one row
(``uq_chain_deposits_tx``) and one entry. A transfer the chain drops or reverts before it is
confirmed is marked dropped and never credited. A user can report a deposit by its hash when it
does not show up (``claim``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.clock import clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.kernel.outbox import emit
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.ledger.errors import AccountClosed, AccountFrozen
from qianbao.rails import chain_factory
from qianbao.rails.chain import ChainProvider, ChainTx, SeenTransfer
from qianbao.rails.chain_addresses import parse_address, parse_txid, shown_txid
from qianbao.wallet import chain
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.chain_errors import DepositAlreadySeen, DepositNotFound, DevChainOnly
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.models_chain import ChainDeposit
from qianbao.wallet.transfer import new_reference

NOTIFY_TOPIC = "wallet.chain_updated"


async def record(
    session: Any, settings: Any, seen: SeenTransfer, user_id: uuid.UUID
) -> ChainDeposit | None:
    """A transfer to ``user_id``'s address, the first time it is seen: a pending deposit and a
    pending wallet row. ``None`` when it was seen before (by this or another watcher)."""
    now = clock_of(session).now()
    account = await wallet_account(session, user_id, chain.CURRENCY)
    row_id, deposit_id = uuid7(), uuid7()
    needed = chain.needed(settings, seen.network)
    inserted = (
        await session.execute(
            insert(ChainDeposit)
            .values(
                id=deposit_id,
                user_id=user_id,
                network=seen.network,
                txid=seen.txid,
                log_index=seen.log_index,
                address=seen.to_address,
                from_address=seen.from_address,
                amount=seen.amount,
                block=seen.block,
                confirmations=seen.confirmations,
                needed=needed,
                status="pending",
                transaction_id=row_id,
                seen_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["network", "txid", "log_index"])
            .returning(ChainDeposit.id)
        )
    ).scalar_one_or_none()
    if inserted is None:
        return None
    session.add(
        WalletTransaction(
            id=row_id,
            user_id=user_id,
            account_id=account.id,
            kind="topup",
            direction="in",
            status="pending",
            currency=chain.CURRENCY,
            amount=seen.amount,
            reference=new_reference(now),
            details={
                "method": "usdt",
                "network": seen.network,
                "txid": shown_txid(seen.network, seen.txid),
                "address": seen.to_address,
                "confirmations": seen.confirmations,
                "needed": needed,
                "chain_deposit_id": str(deposit_id),
            },
            created_at=now,
        )
    )
    await session.flush()
    return await session.get(ChainDeposit, deposit_id)


async def advance(session: Any, deposit: ChainDeposit, tx: ChainTx | None) -> str:
    """Apply what the chain says of a pending deposit (locked by the caller): its confirmations,
    and credit it when they are enough, or drop it when the chain no longer carries it.
    Returns the deposit's status."""
    if deposit.status != "pending":
        return deposit.status
    now = clock_of(session).now()
    carried = (
        tx is not None
        and tx.state != "failed"
        and any(
            t.log_index == deposit.log_index and t.to_address == deposit.address
            for t in tx.transfers
        )
    )
    row = await session.get(WalletTransaction, deposit.transaction_id, with_for_update=True)
    if tx is None or not carried:
        deposit.status, deposit.updated_at = "dropped", now
        row.status = "failed"
        row.details = {**row.details, "failure": "dropped"}
        await session.flush()
        return deposit.status
    if tx.confirmations != deposit.confirmations:
        deposit.confirmations, deposit.block = tx.confirmations, tx.block
        deposit.updated_at = now
        row.details = {**row.details, "confirmations": tx.confirmations}
    if tx.state == "success" and tx.confirmations >= deposit.needed:
        await _credit(session, deposit, row)
    await session.flush()
    return deposit.status


async def _credit(session: Any, deposit: ChainDeposit, row: WalletTransaction) -> None:
    """Clearing → the user's wallet, once (the ledger key is the deposit's place on chain)."""
    ledger = await Ledger.of_session(session)
    cur = chain.CURRENCY
    source = await system_account_id(
        ledger.conn, "bank_clearing", cur, chain.clearing_code(deposit.network)
    )
    account = await wallet_account(session, deposit.user_id, cur)
    target = account.id
    key = f"chain-deposit:{deposit.network}:{deposit.txid}:{deposit.log_index}"
    meta = {"deposit": str(deposit.id), "user": str(deposit.user_id)}
    now = clock_of(session).now()
    try:
        entry = await ledger.post(
            transfer(
                key,
                debit_account_id=source,
                credit_account_id=target,
                amount=deposit.amount,
                currency=cur,
                entry_type="chain_deposit",
                metadata=meta,
            )
        )
    except (AccountFrozen, AccountClosed):
        # The coins arrived but the wallet cannot take them: they wait in suspense for an
        # operator (docs/usdt.md), and the user is told.
        target = await system_account_id(ledger.conn, "suspense", cur)
        entry = await ledger.post(
            transfer(
                key + ":suspense",
                debit_account_id=source,
                credit_account_id=target,
                amount=deposit.amount,
                currency=cur,
                entry_type="chain_deposit_suspense",
                metadata=meta,
            )
        )
        deposit.status, deposit.entry_id, deposit.updated_at = "suspense", entry.entry_id, now
        row.status = "failed"
        row.details = {**row.details, "failure": "account_frozen"}
        return
    deposit.status, deposit.entry_id = "credited", entry.entry_id
    deposit.credited_at = deposit.updated_at = now
    row.status = "completed"
    row.entry_id = entry.entry_id
    row.balance_after = next(p.balance_after for p in entry.postings if p.account_id == target)
    row.listed_at = now  # the money arrived now: listed here, its balance follows
    await emit(
        session,
        NOTIFY_TOPIC,
        {"transaction_id": str(row.id), "template": "chain.deposit_credited"},
    )


async def pending(session: Any, network: str, *, limit: int = 200) -> list[ChainDeposit]:
    """Pending deposits of a network, locked (a concurrent watcher skips them)."""
    rows = await session.execute(
        select(ChainDeposit)
        .where(ChainDeposit.network == network, ChainDeposit.status == "pending")
        .order_by(ChainDeposit.seen_at)
        .with_for_update(skip_locked=True)
        .limit(limit)
    )
    return list(rows.scalars())


async def claim(
    session: Any, settings: Any, user_id: uuid.UUID, *, network: str, txid: str
) -> list[ChainDeposit]:
    """A user reports a deposit by its hash: the chain is asked (the report is never trusted)
    and the transfers of that transaction to the user's address are recorded as seen — pending
    until confirmed, as if the watcher had found them. Refused when there is none
    (``chain.deposit_not_found``) or when they are known already
    (``chain.deposit_already_seen``). No balance changes here."""
    provider: ChainProvider = await chain.provider(session, settings)
    offer = await chain.offer(session, settings, network)
    code, hash_ = offer.code, parse_txid(txid)
    address = await chain.deposit_address(session, settings, user_id, code)
    tx = await provider.transaction(session, code, hash_)
    mine = [
        t
        for t in (tx.transfers if tx is not None and tx.state != "failed" else ())
        if t.to_address == address.address
    ]
    if not mine:
        raise DepositNotFound(network=offer.label)
    recorded = [d for d in [await record(session, settings, t, user_id) for t in mine] if d]
    if not recorded:
        raise DepositAlreadySeen()
    for deposit in recorded:
        await advance(session, deposit, tx)
    return recorded


async def of_user(
    session: Any, user_id: uuid.UUID, *, network: str | None = None, limit: int = 20
) -> list[ChainDeposit]:
    query = select(ChainDeposit).where(ChainDeposit.user_id == user_id)
    if network:
        query = query.where(ChainDeposit.network == network)
    rows = await session.execute(
        query.order_by(ChainDeposit.seen_at.desc(), ChainDeposit.id.desc()).limit(limit)
    )
    return list(rows.scalars())


async def send_test_usdt(
    session: Any,
    settings: Any,
    user_id: uuid.UUID,
    *,
    network: str,
    amount: Money,
    address: str | None = None,
) -> tuple[str, str]:
    """Test USDT from the development chain's faucet to ``address`` (default: the user's deposit
    address): (address, transaction hash). Refused unless the development chain is in use."""
    if not chain_factory.dev_active(settings):
        raise DevChainOnly()
    offer = await chain.offer(session, settings, network)
    if address:
        to = parse_address(offer.code, address)
    else:
        to = (await chain.deposit_address(session, settings, user_id, offer.code)).address
    dev = chain_factory.dev_chain(settings)
    return to, await dev.faucet(session, offer.code, to, amount.minor)
