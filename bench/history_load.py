"""Loading the ``bench_history`` data set (``bench/history_data.py``) with binary ``COPY``.

The ledger's user triggers (append-only, balanced entries, posting checks) are off during the
load, and the secondary indexes of the three big tables are dropped and built again afterwards
(a bulk load's usual order); one thread generates the next chunk of rows while the event loop
copies the current one into the three tables at once. The data is balanced by construction and
checked after the load with set-based queries: every entry sums to zero, every account's
``posted`` is the sum of its postings and equals its last posting's ``balance_after``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import asyncpg

from bench.history_data import (
    BIG_TABLES,
    ENTRY_COLUMNS,
    FUND_BATCH,
    FUNDING,
    POSTING_COLUMNS,
    TRANSFERS,
    TRIGGER_TABLES,
    USERS,
    WALLET_COLUMNS,
    Chunk,
    DataSet,
    pg_time,
)
from qianbao.kernel.clock import system_clock


async def _raw_timestamps(conn: asyncpg.Connection) -> None:
    """Send timestamptz values as ready-made ``(microseconds,)`` tuples (asyncpg's "tuple"
    format; ``tuple`` of a tuple is the tuple itself): the generator never builds a datetime,
    and encoding one costs about a microsecond less. Only on the loader's own connections."""
    await conn.set_type_codec(
        "timestamptz", schema="pg_catalog", encoder=tuple, decoder=tuple, format="tuple"
    )


async def _copy_chunk(conns: list[asyncpg.Connection], chunk: Chunk) -> None:
    jobs = []
    for conn, table, columns, rows in (
        (conns[0], "ledger_entries", ENTRY_COLUMNS, chunk.entries),
        (conns[1], "ledger_postings", POSTING_COLUMNS, chunk.postings),
        (conns[2], "wallet_transactions", WALLET_COLUMNS, chunk.wallet),
    ):
        if rows:
            jobs.append(conn.copy_records_to_table(table, records=rows, columns=columns))
    await asyncio.gather(*jobs)


async def _secondary_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """(name, definition) of the big tables' indexes that back no constraint."""
    rows = await conn.fetch(
        """SELECT c.relname, pg_get_indexdef(i.indexrelid) AS ddl
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid::regclass::text = ANY($1::text[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            ORDER BY c.relname""",
        list(BIG_TABLES),
    )
    return [(r["relname"], r["ddl"]) for r in rows]


async def load(dsn: str, *, users: int = USERS, transfers: int = TRANSFERS) -> DataSet:
    """Generate and COPY the data set into the migrated database at ``dsn``; returns the
    generator (its user ids, heavy users and the period)."""
    conns = [await asyncpg.connect(dsn) for _ in range(3)]
    for conn in conns:
        await _raw_timestamps(conn)
    main = conns[0]
    try:
        equity = await main.fetchval(
            "SELECT id FROM ledger_accounts WHERE kind = 'equity' AND currency = 'CNY' "
            "AND code = 'opening'"
        )
        first_account = int(await main.fetchval("SELECT max(id) FROM ledger_accounts")) + 1
        end = system_clock.now().replace(microsecond=0) - timedelta(minutes=1)
        data = DataSet(users=users, transfers=transfers, end=end, first_account_id=first_account)
        start = pg_time(data.start)
        for table in TRIGGER_TABLES:
            await main.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        indexes = await _secondary_indexes(main)
        for name, _ in indexes:
            await main.execute(f"DROP INDEX {name}")
        await main.copy_records_to_table(
            "users",
            records=[
                (data.user_ids[u], data.phones[u], "bench-no-login", data.names[u], start)
                for u in range(users)
            ],
            columns=("id", "phone", "password_hash", "real_name", "created_at"),
        )
        for chunk in data.funding(equity):
            await _copy_chunk(conns, chunk)
        t0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        # One thread makes the next chunk while the event loop copies the current one.
        pending = loop.run_in_executor(None, data.next_chunk)
        while (made := await pending) is not None:
            pending = loop.run_in_executor(None, data.next_chunk)
            await _copy_chunk(conns, made)
        timed("history load: transfers copied", t0)
        print(f"# history load: loader CPU so far {time.process_time():.1f} s", flush=True)
        await main.copy_records_to_table(
            "ledger_accounts",
            records=[
                (
                    data.account_ids[u],
                    "CNY",
                    "user_wallet",
                    data.user_ids[u],
                    True,
                    data.balances[u],
                    data.counts[u],
                    f"wallet:{data.user_ids[u]}:CNY",
                    start,
                )
                for u in range(users)
            ],
            columns=(
                "id",
                "currency",
                "kind",
                "owner_id",
                "no_negative",
                "posted",
                "version",
                "command_key",
                "created_at",
            ),
        )
        await main.execute(
            "UPDATE ledger_accounts SET posted = $2, version = version + $3 WHERE id = $1",
            equity,
            -FUNDING * users,
            (users + FUND_BATCH - 1) // FUND_BATCH,
        )
        await main.execute(
            "SELECT setval('ledger_accounts_id_seq', (SELECT max(id) FROM ledger_accounts))"
        )
        await main.execute(
            "SELECT setval('ledger_postings_id_seq', (SELECT max(id) FROM ledger_postings))"
        )
        t0 = time.perf_counter()
        await _build_indexes(conns, indexes)
        timed("history load: indexes built", t0)
        for table in TRIGGER_TABLES:
            await main.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return data
    finally:
        for conn in conns:
            await conn.close()


async def _build_indexes(conns: list[asyncpg.Connection], indexes: list[tuple[str, str]]) -> None:
    """Build the dropped indexes again, two at a time (two cores), each with parallel workers."""
    queue = list(indexes)

    async def worker(conn: asyncpg.Connection) -> None:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        while queue:
            _, ddl = queue.pop(0)
            await conn.execute(ddl)

    await asyncio.gather(*(worker(c) for c in conns[:2]))


async def check(dsn: str) -> dict[str, int]:
    """Set-based checks of the loaded ledger: unbalanced entries, accounts whose ``posted`` is
    not the sum of their postings or not their last posting's balance, the sum of all
    balances (zero), and the row counts."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET work_mem = '256MB'")
        found = {}
        found["unbalanced_entries"] = await conn.fetchval(
            """SELECT count(*) FROM (SELECT entry_id FROM ledger_postings GROUP BY entry_id
                                     HAVING sum(amount) <> 0 OR count(*) < 2) x"""
        )
        found["drifted_accounts"] = await conn.fetchval(
            """SELECT count(*) FROM ledger_accounts a
                 LEFT JOIN (SELECT account_id, sum(amount) AS total, max(id) AS last
                              FROM ledger_postings GROUP BY account_id) p ON p.account_id = a.id
                 LEFT JOIN ledger_postings lp ON lp.id = p.last
                WHERE a.posted <> coalesce(p.total, 0)
                   OR a.posted <> coalesce(lp.balance_after, 0)"""
        )
        found["sum_of_balances"] = await conn.fetchval(
            "SELECT coalesce(sum(posted), 0) FROM ledger_accounts WHERE currency = 'CNY'"
        )
        found["negative_wallets"] = await conn.fetchval(
            "SELECT count(*) FROM ledger_accounts WHERE no_negative AND posted < 0"
        )
        for table in ("users", *BIG_TABLES):
            found[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
        return found
    finally:
        await conn.close()


def timed(label: str, t0: float) -> float:
    elapsed = time.perf_counter() - t0
    print(f"# {label}: {elapsed:.1f} s", flush=True)
    return elapsed


def report(found: dict[str, int]) -> None:
    """Print the checks; a broken ledger stops the benchmark."""
    ok = (
        found["unbalanced_entries"] == 0
        and found["drifted_accounts"] == 0
        and found["sum_of_balances"] == 0
        and found["negative_wallets"] == 0
    )
    print(
        "# history data: "
        + " ".join(f"{k}={v}" for k, v in found.items())
        + f" -> {'OK' if ok else 'BROKEN'}",
        flush=True,
    )
    if not ok:
        raise SystemExit("bench_history: the loaded ledger does not balance")
