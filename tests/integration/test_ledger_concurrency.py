"""Real concurrency on real connections: hot accounts, opposing flows, rings, duplicate keys."""

from __future__ import annotations

import asyncio
import random

import asyncpg

from qianbao.kernel.errors import DomainError
from qianbao.ledger import GroupCommitter, Ledger, accounts, transfer
from qianbao.ledger import errors as le
from tests.integration.ledger_helpers import check_invariants, fund, key, open_wallet


async def _direct(pool: asyncpg.Pool, cmd):
    async with pool.acquire() as conn:
        outcome = (await Ledger(conn).execute([cmd]))[0]
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def _hot_account_drain(pool: asyncpg.Pool, submit) -> None:
    async with pool.acquire() as conn:
        hot = await open_wallet(conn)
        sinks = [await open_wallet(conn) for _ in range(10)]
        await fund(conn, hot, 10_000)  # 100.00
    cmds = [
        transfer(
            key(), debit_account_id=hot, credit_account_id=sinks[i % 10], amount=100, currency="CNY"
        )
        for i in range(1_000)
    ]
    outcomes = await asyncio.gather(*(submit(cmd) for cmd in cmds), return_exceptions=True)
    ok = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(ok) == 100
    assert all(isinstance(o, le.InsufficientFunds) for o in refused), {type(o) for o in refused}
    async with pool.acquire() as conn:
        assert (await accounts.get_account(conn, hot)).posted == 0
        assert sum([(await accounts.get_account(conn, s)).posted for s in sinks]) == 10_000
        await check_invariants(conn)


async def test_hot_account_1000_concurrent_debits_over_many_connections(pg_pool: asyncpg.Pool):
    await _hot_account_drain(pg_pool, lambda cmd: _direct(pg_pool, cmd))


async def test_hot_account_1000_concurrent_debits_through_group_commit(pg_pool: asyncpg.Pool):
    front = GroupCommitter(pg_pool, max_batch=64, inflight=3)
    await _hot_account_drain(pg_pool, front.submit)
    assert front.batches < 1_000  # they really were grouped


async def test_opposing_flows_and_a_ring_never_surface_a_deadlock(pg_pool: asyncpg.Pool):
    async with pg_pool.acquire() as conn:
        a, b, c = [await open_wallet(conn) for _ in range(3)]
        for acc in (a, b, c):
            await fund(conn, acc, 1_000_000)
    cmds = [
        transfer(key(), debit_account_id=a, credit_account_id=b, amount=7, currency="CNY")
        for _ in range(500)
    ]
    cmds += [
        transfer(key(), debit_account_id=b, credit_account_id=a, amount=5, currency="CNY")
        for _ in range(500)
    ]
    ring = [(a, b), (b, c), (c, a)]
    cmds += [
        transfer(key(), debit_account_id=d, credit_account_id=cr, amount=3, currency="CNY")
        for _ in range(200)
        for d, cr in ring
    ]
    random.shuffle(cmds)
    outcomes = await asyncio.gather(
        *(_direct(pg_pool, cmd) for cmd in cmds), return_exceptions=True
    )
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures == []
    async with pg_pool.acquire() as conn:
        posted = [(await accounts.get_account(conn, x)).posted for x in (a, b, c)]
        assert posted == [1_000_000 - 500 * 7 + 500 * 5, 1_000_000 + 500 * 7 - 500 * 5, 1_000_000]
        await check_invariants(conn)


async def test_fifty_identical_calls_per_key_make_one_entry_per_key(pg_pool: asyncpg.Pool):
    async with pg_pool.acquire() as conn:
        src = await open_wallet(conn)
        dst = await open_wallet(conn)
        await fund(conn, src, 10_000_000)
    keys = [key("dup") for _ in range(200)]
    front = GroupCommitter(pg_pool, max_batch=200, inflight=2)
    calls = []
    for i, k in enumerate(keys):
        cmd = transfer(
            k, debit_account_id=src, credit_account_id=dst, amount=100 + i, currency="CNY"
        )
        # half of the calls go straight to their own connection, half through group commit
        calls += [_direct(pg_pool, cmd) if j % 2 else front.submit(cmd) for j in range(50)]
    random.shuffle(calls)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    by_key: dict = {}
    for outcome in outcomes:
        by_key.setdefault(outcome.entry_id, []).append(outcome)
    assert len(by_key) == 200
    assert all(sum(not r.replayed for r in results) <= 1 for results in by_key.values())
    async with pg_pool.acquire() as conn:
        n_entries = await conn.fetchval(
            "SELECT count(*) FROM ledger_commands WHERE key = ANY($1::text[])", keys
        )
        assert n_entries == 200
        assert (await accounts.get_account(conn, dst)).posted == sum(100 + i for i in range(200))
        await check_invariants(conn)
