"""Ledger benchmarks (issue #3): W1 uniform transfers, W2 one hot merchant, W4 batches of 1,000,
driving the ledger directly with asyncpg in one process, on the same server as the pgbench
baseline. Prints BENCH lines and ends by checking the invariants on the benchmark data."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import asyncpg

from bench.common import BenchContext, emit, percentile
from qianbao.kernel.db import asyncpg_dsn
from qianbao.ledger import GroupCommitter, Ledger, Leg, PostEntry, transfer
from qianbao.ops.migrate import upgrade

N_ACCOUNTS = 10_000
CALLERS = 64
FUNDING = 100_000_000  # 1,000,000.00 each: nobody runs dry during a run


async def _setup(url: str) -> tuple[list[int], int]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        ids = [
            r[0]
            for r in await conn.fetch(
                """INSERT INTO ledger_accounts (currency, kind, owner_id, no_negative)
                   SELECT 'CNY', 'user_wallet', gen_random_uuid(), true FROM generate_series(1, $1)
                   RETURNING id""",
                N_ACCOUNTS + 1,
            )
        ]
        merchant, wallets = ids[-1], ids[:-1]
        source = await conn.fetchval(
            "SELECT id FROM ledger_accounts WHERE kind = 'equity' AND currency = 'CNY' AND code = 'opening'"
        )
        ledger = Ledger(conn)
        for start in range(0, len(wallets), 2_000):
            chunk = wallets[start : start + 2_000]
            legs = (
                Leg(source, -FUNDING * len(chunk), "CNY"),
                *(Leg(w, FUNDING, "CNY") for w in chunk),
            )
            await ledger.post(PostEntry(f"bench-fund-{start}", legs, entry_type="funding"))
        return wallets, merchant
    finally:
        await conn.close()


async def _closed_loop(front: GroupCommitter, seconds: float, pick) -> tuple[int, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    done = 0

    async def caller(n: int) -> None:
        nonlocal done
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            debit, credit = pick(rng)
            cmd = transfer(
                uuid.uuid4().hex,
                debit_account_id=debit,
                credit_account_id=credit,
                amount=rng.randint(1, 500),
                currency="CNY",
            )
            t0 = time.perf_counter()
            await front.submit(cmd)
            latencies.append(time.perf_counter() - t0)
            done += 1

    await asyncio.gather(*(caller(i) for i in range(CALLERS)))
    return done, sorted(latencies)


async def _workload(pool: asyncpg.Pool, seconds: float, pick) -> tuple[float, float, float, float]:
    front = GroupCommitter(pool, max_batch=1_000, inflight=2)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    done, lat = await _closed_loop(front, seconds, pick)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return (
        done / elapsed,
        percentile(lat, 50) * 1000,
        percentile(lat, 99) * 1000,
        cpu / max(done, 1) * 1e6,
    )


async def _batches(pool: asyncpg.Pool, wallets: list[int], seconds: float) -> float:
    deadline = time.perf_counter() + seconds
    done = 0

    async def caller(n: int) -> None:
        nonlocal done
        rng = random.Random(1000 + n)
        async with pool.acquire() as conn:
            ledger = Ledger(conn)
            while time.perf_counter() < deadline:
                cmds = []
                for _ in range(1_000):
                    a, b = rng.sample(wallets, 2)
                    cmds.append(
                        transfer(
                            uuid.uuid4().hex,
                            debit_account_id=a,
                            credit_account_id=b,
                            amount=rng.randint(1, 500),
                            currency="CNY",
                        )
                    )
                await ledger.execute(cmds)
                done += len(cmds)

    t0 = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(2)))
    return done / (time.perf_counter() - t0)


async def _check_invariants(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM ledger_postings GROUP BY entry_id, currency HAVING sum(amount) <> 0) x"
        )
        total = await conn.fetchval(
            "SELECT sum(posted) FROM ledger_accounts WHERE currency = 'CNY'"
        )
        negative = await conn.fetchval(
            "SELECT count(*) FROM ledger_accounts WHERE no_negative AND posted - pending_out < 0"
        )
        drift = await conn.fetchval(
            """SELECT count(*) FROM ledger_accounts a WHERE a.posted <> coalesce(
                 (SELECT sum(amount) FROM ledger_postings p WHERE p.account_id = a.id), 0)"""
        )
        entries = await conn.fetchval("SELECT count(*) FROM ledger_entries")
    finally:
        await conn.close()
    ok = unbalanced == 0 and total == 0 and negative == 0 and drift == 0
    print(
        f"# invariants: entries={entries} unbalanced={unbalanced} sum={total} negative={negative} "
        f"drift={drift} -> {'OK' if ok else 'BROKEN'}",
        flush=True,
    )
    if not ok:
        raise SystemExit("ledger invariants broken on the benchmark data")


def run(ctx: BenchContext) -> None:
    ctx.pg.ensure_database("bench_ledger")
    url = ctx.pg.url("bench_ledger")
    upgrade(url)

    async def main() -> None:
        wallets, merchant = await _setup(url)
        pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=4, max_size=8)
        try:
            uniform = lambda rng: rng.sample(wallets, 2)  # noqa: E731
            hot = lambda rng: (rng.choice(wallets), merchant)  # noqa: E731
            w1_tps, w1_p50, w1_p99, w1_cpu = await _workload(pool, ctx.seconds, uniform)
            emit("w1_tps", w1_tps, "tps")
            emit("w1_p50_ms", w1_p50, "ms")
            emit("w1_p99_ms", w1_p99, "ms")
            emit("w1_cpu_us_per_transfer", w1_cpu, "us")
            w2_tps, w2_p50, w2_p99, _ = await _workload(pool, ctx.seconds, hot)
            emit("w2_tps", w2_tps, "tps")
            emit("w2_p50_ms", w2_p50, "ms")
            emit("w2_p99_ms", w2_p99, "ms")
            w4_tps = await _batches(pool, wallets, ctx.seconds)
            emit("w4_tps", w4_tps, "tps")
            ctx.results.update(w1_tps=w1_tps, w2_tps=w2_tps, w4_tps=w4_tps)
            base = ctx.baseline_tps
            print(
                f"# ratios: w1/pgbench={w1_tps / base:.2f} (target 1.5)  w2/w1={w2_tps / w1_tps:.2f} "
                f"(target 0.8)  w4/pgbench={w4_tps / base:.2f} (target 8)",
                flush=True,
            )
        finally:
            await pool.close()
        await _check_invariants(url)

    asyncio.run(main())
