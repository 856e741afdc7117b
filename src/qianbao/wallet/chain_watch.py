"""The chain watcher (a periodic job, ``wallet.chain_watch``): per network, read the blocks since
the last poll — and the last ``chain.rescan_blocks`` again, so a deposit is reported more than
once and recorded once — keep the transfers to users' deposit addresses, move the pending
deposits on (confirmations, credit, dropped), send the queued withdrawals and move the sent
ones on (confirmations, complete, failed on chain)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.clock import clock_of
from qianbao.rails import chain_factory
from qianbao.rails.chain import ChainProvider
from qianbao.wallet import chain, chain_deposits, chain_withdrawals
from qianbao.wallet.models_chain import ChainCursor


@dataclass
class Watched:
    network: str
    head: int
    scanned: tuple[int, int]
    seen: int = 0  # new deposits
    credited: int = 0
    sent: int = 0
    completed: int = 0
    failed: int = 0


async def watch(
    session: Any, settings: Any, provider: ChainProvider | None = None
) -> list[Watched]:
    """One poll of every network (nothing when chains are off)."""
    if not chain.enabled(settings):
        return []
    found = provider or chain_factory.provider(settings)
    if found is None:
        return []
    return [await watch_network(session, settings, found, n) for n in settings.chain.networks]


async def _cursor(session: Any, network: str, head: int) -> ChainCursor:
    """The network's cursor, locked (a second watcher waits, then reads what the first left);
    a new one starts just before the head."""
    await session.execute(
        insert(ChainCursor)
        .values(network=network, block=head - 1, updated_at=clock_of(session).now())
        .on_conflict_do_nothing(index_elements=["network"])
    )
    cursor: ChainCursor = (
        await session.execute(
            select(ChainCursor)
            .where(ChainCursor.network == network)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return cursor


async def scan(session: Any, settings: Any, provider: ChainProvider, network: str) -> Watched:
    """Read the new blocks (and the last few again): record the transfers to our addresses."""
    head = await provider.head(session, network)
    cursor = await _cursor(session, network, head)
    start = max(0, cursor.block + 1 - settings.chain.rescan_blocks)
    end = min(head, start + settings.chain.max_scan_blocks - 1)
    done = Watched(network, head, (start, end))
    if end < start:
        return done
    transfers = await provider.transfers(session, network, start, end)
    owners = await chain.owners(session, network, [t.to_address for t in transfers])
    for t in transfers:
        user_id = owners.get(t.to_address)
        if user_id is None or t.state == "failed" or t.amount <= 0:
            continue
        if await chain_deposits.record(session, settings, t, user_id) is not None:
            done.seen += 1
    if end > cursor.block:
        cursor.block, cursor.updated_at = end, clock_of(session).now()
    await session.flush()
    return done


async def watch_network(
    session: Any, settings: Any, provider: ChainProvider, network: str
) -> Watched:
    done = await scan(session, settings, provider, network)
    for deposit in await chain_deposits.pending(session, network):
        tx = await provider.transaction(session, network, deposit.txid)
        if await chain_deposits.advance(session, deposit, tx) == "credited":
            done.credited += 1
    for withdrawal in await chain_withdrawals.open_ones(session, network, "queued"):
        await chain_withdrawals.send(session, provider, withdrawal)
        done.sent += withdrawal.status == "sent"
        done.failed += withdrawal.status == "failed"
    for withdrawal in await chain_withdrawals.open_ones(session, network, "sent"):
        tx = await provider.transaction(session, network, withdrawal.txid or "")
        status = await chain_withdrawals.advance(session, withdrawal, tx)
        done.completed += status == "completed"
        done.failed += status == "failed"
    return done
