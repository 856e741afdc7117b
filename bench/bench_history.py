"""History at scale (issue 17): 10,000,000 postings over 100,000 users (``bench/history_data.py``,
loaded with COPY), then the history page, the monthly statement and the CSV export on it.

Prints ``BENCH history_load_s`` (generate, COPY, build the indexes, ANALYZE; target < 300 s),
``history_p50_ms`` / ``history_p99_ms`` (target p99 < 50 ms), ``statement_p50_ms`` /
``statement_p99_ms``, ``csv_export_rows_per_s`` and ``csv_export_peak_rss_mb``.

The history page is measured through the service functions the page calls (``history.
list_transactions`` for 20 rows, then ``history.month_totals`` for the months those rows span),
each page in its own session of a ``Database`` like a request's, for a mix of filters (none, the
last 30 days, one month, money out, an amount range, a search word, a status), first pages and
deep pages (the cursor after the 1,000th matching row), half of them for the 100 busiest users
(about 10,000 to 108,000 rows each) and half for users drawn uniformly. The statement is
``statement.monthly_statement`` of a random month of the last twelve, for the same kinds of
users. The export is a real HTTP export (``GET /api/v1/wallet/transactions.csv``) of the busiest
user's whole history from a ``qianbao serve`` process, read as a stream; its peak RSS is the
server process's resident memory sampled every 10 ms during the export, minus its RSS before.
"""

from __future__ import annotations

import asyncio
import random
import resource
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from bench import history_data, history_export, history_load
from bench.common import BenchContext, emit, percentile
from qianbao.kernel.clock import LOCAL_TZ, system_clock
from qianbao.kernel.db import Database, asyncpg_dsn
from qianbao.ops.migrate import upgrade
from qianbao.wallet import history, statement

DATABASE = "bench_history"
HEAVY = 100  # the busiest users: half the samples
DEEP_ROWS = 1_000  # a deep page starts after this many matching rows
SCENARIOS = 400
# Statements: a busy user's takes seconds (the ledger's reads, docs/performance.md), so few.
STATEMENTS = 40
TARGET_P99_MS = 50.0


def _filters(kind: str, rng: random.Random, now: datetime) -> history.Filters:
    if kind == "30d":
        return history.Filters(period="30d")
    if kind == "month":
        local = now.astimezone(LOCAL_TZ).date().replace(day=1)
        first = (local - timedelta(days=31 * rng.randint(1, 11))).replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return history.Filters(period="custom", start=first, end=last)
    if kind == "out":
        return history.Filters(direction="out")
    if kind == "amount":
        low = rng.choice([5, 50, 500, 5_000])
        return history.Filters(min_amount=str(low), max_amount=str(low * 2))
    if kind == "search":
        return history.Filters(q=rng.choice(history_data.NOTES))
    if kind == "status":
        return history.Filters(status="completed")
    return history.Filters()


KINDS = ["all", "30d", "month", "out", "amount", "search", "status"]


@dataclass
class Scenario:
    label: str
    user_id: uuid.UUID
    filters: history.Filters
    cursor: str | None


async def _scenarios(
    db: Database, data: history_data.DataSet, now: datetime, rng: random.Random
) -> list[Scenario]:
    """SCENARIOS page views: a user (half of them among the busiest), a filter, first or deep."""
    heavy = [data.user_ids[u] for u in data.heavy_users(HEAVY)]
    found: list[Scenario] = []
    while len(found) < SCENARIOS:
        busy = len(found) % 2 == 0
        user = uuid.UUID(rng.choice(heavy) if busy else rng.choice(data.user_ids))
        kind = KINDS[len(found) // 2 % len(KINDS)]
        filters = _filters(kind, rng, now)
        cursor = None
        deep = rng.random() < 0.3
        if deep:  # the key of the 1,000th matching row, as the page's cursor encodes it
            async with db.session() as s:
                rows = await history.export_rows(
                    s, user, filters, after=None, limit=DEEP_ROWS, now=now
                )
            if len(rows) < DEEP_ROWS:
                continue  # not that many rows: no deep page to look at
            cursor = history._cursor(rows[-1])  # the page's own cursor format
        label = f"{'busy' if busy else 'any'}/{kind}{'/deep' if deep else ''}"
        found.append(Scenario(label, user, filters, cursor))
    rng.shuffle(found)
    return found


async def _page(db: Database, sc: Scenario, now: datetime) -> int:
    """What the history page reads: 20 rows, then the totals of the months they span."""
    async with db.session() as s:
        page = await history.list_transactions(
            s, sc.user_id, sc.filters, cursor=sc.cursor, limit=20, now=now
        )
        months = sorted({history.month_of(r.listed_at) for r in page.rows})
        await history.month_totals(s, sc.user_id, sc.filters, months, now=now)
    return len(page.rows)


async def _timed_loop(seconds: float, items: list, call) -> dict[str, list[float]]:
    """Call ``call(item)`` for each item in turn (round and round) for ``seconds`` (at least
    each item once); latencies in ms by the item's label."""
    times: dict[str, list[float]] = {}
    deadline = time.perf_counter() + seconds
    i = 0
    while i < len(items) or time.perf_counter() < deadline:
        item = items[i % len(items)]
        t0 = time.perf_counter()
        await call(item)
        times.setdefault(item.label, []).append((time.perf_counter() - t0) * 1000)
        i += 1
    return times


def _report(name: str, times: dict[str, list[float]]) -> float:
    every = sorted(t for ts in times.values() for t in ts)
    p99 = percentile(every, 99)
    emit(f"{name}_p50_ms", percentile(every, 50), "ms")
    emit(f"{name}_p99_ms", p99, "ms")
    worst = sorted(times.items(), key=lambda kv: -max(kv[1]))[:8]
    print(
        f"# {name}: {len(every)} samples; slowest kinds (p50 / max ms): "
        + ", ".join(f"{k} {statistics.median(v):.1f}/{max(v):.1f}" for k, v in worst),
        flush=True,
    )
    return p99


async def measure_history(url: str, data: history_data.DataSet, seconds: float) -> float:
    db = Database(url, pool_size=2, max_overflow=0)
    now = system_clock.now()
    try:
        scenarios = await _scenarios(db, data, now, random.Random(170))
        for sc in scenarios[:20]:  # warm-up: connections, statement caches
            await _page(db, sc, now)
        times = await _timed_loop(seconds, scenarios, lambda sc: _page(db, sc, now))
    finally:
        await db.dispose()
    p99 = _report("history", times)
    print(
        f"# history p99 {p99:.1f} ms at {data.posting_id:,} postings (target < {TARGET_P99_MS:.0f})",
        flush=True,
    )
    return p99


@dataclass
class Month:
    label: str
    user_id: uuid.UUID
    month: date


async def measure_statement(url: str, data: history_data.DataSet, seconds: float) -> None:
    rng = random.Random(171)
    heavy = [data.user_ids[u] for u in data.heavy_users(HEAVY)]
    now = system_clock.now()
    current = statement.current_month(now)
    items = []
    for i in range(STATEMENTS):
        busy = i % 2 == 0
        back = rng.randint(0, 11)
        month = current
        for _ in range(back):
            month = statement.previous_month(month)
        user = uuid.UUID(rng.choice(heavy) if busy else rng.choice(data.user_ids))
        items.append(Month("busy" if busy else "any", user, month))
    db = Database(url, pool_size=2, max_overflow=0)

    async def one(item: Month) -> None:
        async with db.session() as s:
            await statement.monthly_statement(s, item.user_id, item.month, now=now)

    async def months(item: Month) -> None:
        async with db.session() as s:
            await statement.months_with_activity(s, item.user_id, now=now)

    try:
        for item in items[:5]:
            await one(item)
        times = await _timed_loop(seconds, items, one)
        listed = await _timed_loop(0, items, months)
    finally:
        await db.dispose()
    _report("statement", times)
    every = sorted(t for ts in listed.values() for t in ts)
    print(
        f"# statement months (the statements page's month list): p50 "
        f"{percentile(every, 50):.1f} ms, p99 {percentile(every, 99):.1f} ms",
        flush=True,
    )


async def _prepare(ctx: BenchContext, dsn: str, on: bool) -> None:
    """Room for the bulk load's WAL between checkpoints (and back to the default after)."""
    conn = await asyncpg.connect(dsn)
    try:
        if on:
            await conn.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
        else:
            await conn.execute("ALTER SYSTEM RESET max_wal_size")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def _maintain(dsn: str, command: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(command)
    finally:
        await conn.close()


async def _drop(ctx: BenchContext) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(ctx.pg.url("postgres")))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def run(ctx: BenchContext) -> None:
    ctx.pg.ensure_database(DATABASE)
    url = ctx.pg.url(DATABASE)
    dsn = asyncpg_dsn(url)
    upgrade(url)
    try:
        asyncio.run(_prepare(ctx, dsn, on=True))
        time.sleep(0.5)  # the reload is asynchronous
        t0 = time.perf_counter()
        data = asyncio.run(history_load.load(dsn))
        asyncio.run(_maintain(dsn, "ANALYZE"))
        emit("history_load_s", time.perf_counter() - t0, "s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"# history load: the loader's peak RSS {peak:.0f} MiB", flush=True)
        asyncio.run(_prepare(ctx, dsn, on=False))
        # What autovacuum does soon after such a load (sets the visibility map, which the
        # history's index-only scans need), done now so that it does not run during the timings.
        t0 = time.perf_counter()
        asyncio.run(_maintain(dsn, "VACUUM"))
        history_load.timed("history vacuum", t0)
        t0 = time.perf_counter()
        found = asyncio.run(history_load.check(dsn))
        history_load.timed("history check", t0)
        history_load.report(found)
        asyncio.run(measure_history(url, data, ctx.seconds))
        asyncio.run(measure_statement(url, data, ctx.seconds))
        history_export.run(url, data.user_ids[data.heavy_users(1)[0]])
    finally:
        asyncio.run(_drop(ctx))
