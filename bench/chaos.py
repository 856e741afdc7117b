"""`make chaos`: fault injection. Kills the service and its database at random moments under a
steady load of money writes, restarts them, and checks that nothing was lost or done twice.

    make chaos CHAOS_ARGS="--web-kills 20 --pg-kills 5 --seed 1"

1. A throwaway embedded PostgreSQL (as `make bench` starts one), migrated; the operator lifts the
   risk limits (a limit is not what this run tests), and `qianbao serve` — web and in-process
   job worker, as `make run` runs them — starts as its own OS process on a free port.
2. Users sign up through the public API (SMS codes from the development outbox), set a PIN,
   bind a card and top up their opening balance through the sandbox bank.
3. Concurrent clients send transfers, card top-ups (then confirmed at the sandbox; its callback
   job credits them) and withdrawals (PIN + SMS code; paid out by jobs), every write with its own
   Idempotency-Key, and record each attempt; unacknowledged writes are sometimes sent again with
   the same key and body (bench/chaos_load.py).
4. Meanwhile, at random moments (seeded RNG, the seed is printed), `kill -9` the web process
   (``--web-kills``) or the PostgreSQL postmaster (``--pg-kills``), start it again and wait for
   ``/readyz``; after each restart the checks run on a snapshot (bench/chaos_checks.py).
5. At the end the load stops, the client confirms what it still owes, the job queue drains, and
   the final checks run. Prints ``BENCH chaos_<name> <value> <unit>`` lines and exits 1 when
   anything was lost, done twice, half done, stuck, or a ledger invariant broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.chaos_checks import (
    CATEGORIES,
    Findings,
    check_balances,
    check_final,
    check_ledger,
    check_outbox_files,
    check_requests,
    check_totals,
    outstanding,
)
from bench.chaos_load import Load, LoadConfig, SmsBox, make_user, new_client, wait_funded
from bench.chaos_service import Files, Service, kill_postmaster, restart_postgres
from bench.common import emit
from qianbao.kernel.db import asyncpg_dsn
from qianbao.ops.embedded_pg import EmbeddedPostgres
from qianbao.ops.migrate import upgrade

LIFT_LIMITS = """
UPDATE risk_limits SET single_max = 100000000, daily_max = 100000000000, daily_count = 1000000,
       monthly_max = 100000000000, monthly_count = 1000000
"""


@dataclass
class ChaosConfig:
    web_kills: int = 20
    pg_kills: int = 5
    seed: int | None = None
    users: int = 8
    workers: int = 6
    min_gap_s: float = 1.0  # load between two kills: uniform in [min_gap_s, max_gap_s]
    max_gap_s: float = 6.0
    opening: str = "20000.00"
    drain_timeout_s: float = 180.0
    keep: bool = False  # keep the run's folder (logs, outboxes) even when all is well
    quiet: bool = False


@dataclass
class ChaosResult:
    seed: int
    findings: Findings
    counts: dict[str, float] = field(default_factory=dict)
    folder: Path | None = None

    @property
    def lost(self) -> int:
        return self.findings.count("lost")

    @property
    def duplicated(self) -> int:
        return self.findings.count("duplicated")

    @property
    def ok(self) -> bool:
        return self.findings.total() == 0


class Chaos:
    def __init__(self, config: ChaosConfig, folder: Path) -> None:
        self.config = config
        self.seed = (
            config.seed if config.seed is not None else random.SystemRandom().randrange(10**6)
        )
        self.rng = random.Random(self.seed)
        self.folder = folder
        self.files = Files(folder)
        self.pg = EmbeddedPostgres(folder / "pg", extra_conf={"max_connections": "200"})
        self.url = ""
        self.service: Service | None = None
        self.load: Load | None = None
        self.findings = Findings()
        self.kills = {"web": 0, "pg": 0}
        self.restart_s: list[float] = []
        self.applied_unacked = 0  # unacknowledged writes that had happened (the crash window)

    def say(self, text: str) -> None:
        if not self.config.quiet:
            print(f"# chaos: {text}", flush=True)

    # -- the database ---------------------------------------------------------------------------
    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(asyncpg_dsn(self.url), timeout=10)

    async def snapshot_checks(self, *, final: bool = False) -> Findings:
        assert self.load is not None
        found = Findings()
        conn = await self.connect()
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                seen = await check_requests(conn, self.load.users, self.load.ops, found)
                await check_ledger(conn, found)
                if final:
                    self.applied_unacked = sum(
                        op.state == "unacked"
                        and op.key in {**seen.transfers, **seen.topups, **seen.withdrawals}
                        for op in self.load.ops
                    )
                    await check_totals(conn, self.load.ops, seen, found)
                    await check_balances(conn, self.load.users, self.load.ops, seen, found)
                    sms = check_outbox_files(self.files.sms, self.files.payouts, found)
                    await check_final(conn, self.load.users, self.load.ops, seen, sms, found)
        finally:
            await conn.close()
        if not final:
            check_outbox_files(self.files.sms, self.files.payouts, found)
        return found

    # -- set-up ---------------------------------------------------------------------------------
    async def setup(self) -> None:
        await asyncio.to_thread(self.pg.start)
        await asyncio.to_thread(self.pg.ensure_database, "qianbao")
        self.url = self.pg.url("qianbao")
        await asyncio.to_thread(upgrade, self.url)
        conn = await self.connect()
        try:
            await conn.execute(LIFT_LIMITS)
        finally:
            await conn.close()
        self.service = Service(self.url, self.files)
        self.service.start()
        await self.service.wait_ready()
        sms = SmsBox(self.files.sms)
        gate = asyncio.Semaphore(3)
        async with new_client(self.service.base, timeout=30) as client:

            async def one(i: int):  # type: ignore[no-untyped-def]
                async with gate:
                    return await make_user(client, sms, i, self.config.opening)

            users = list(await asyncio.gather(*(one(i) for i in range(self.config.users))))
            await wait_funded(client, users)
        config = LoadConfig(workers=min(self.config.workers, len(users)))
        self.load = Load(self.service.base, users, sms, config, self.seed)

    # -- faults ---------------------------------------------------------------------------------
    async def kill_web(self) -> None:
        assert self.service is not None
        assert self.load is not None
        self.service.kill9()
        self.load.up.clear()
        t0 = time.monotonic()
        self.service.start()
        await self.service.wait_ready()
        self.restart_s.append(time.monotonic() - t0)

    async def kill_pg(self) -> None:
        assert self.service is not None
        assert self.load is not None
        kill_postmaster(self.pg)
        t0 = time.monotonic()
        await asyncio.sleep(self.rng.uniform(0.0, 1.0))  # the service sees the database gone
        self.load.up.clear()
        await asyncio.to_thread(restart_postgres, self.pg)
        try:
            await self.service.wait_ready(within_s=60)
        except RuntimeError as exc:
            self.findings.add(
                "stuck", f"the service did not recover from a database restart: {exc}"
            )
            self.service.kill9()
            self.service.start()
            await self.service.wait_ready()
        self.restart_s.append(time.monotonic() - t0)

    async def faults(self) -> None:
        assert self.load is not None
        plan = ["web"] * self.config.web_kills + ["pg"] * self.config.pg_kills
        self.rng.shuffle(plan)
        for n, what in enumerate(plan, 1):
            await asyncio.sleep(self.rng.uniform(self.config.min_gap_s, self.config.max_gap_s))
            await (self.kill_web() if what == "web" else self.kill_pg())
            self.kills[what] += 1
            self.load.up.set()
            found = await self.snapshot_checks()
            self.findings.merge(found)
            acked = sum(op.state == "acked" for op in self.load.ops)
            self.say(
                f"kill {n}/{len(plan)} ({what}): back in {self.restart_s[-1]:.1f} s; "
                f"{len(self.load.ops)} requests, {acked} acknowledged; "
                f"violations so far {self.findings.total()}"
            )
        await asyncio.sleep(self.rng.uniform(self.config.min_gap_s, self.config.max_gap_s))

    # -- the end --------------------------------------------------------------------------------
    async def drain(self) -> dict[str, int]:
        """Wait until the outbox is relayed, no job is queued, confirmed top-ups are settled and
        withdrawals paid out (or the time-out: what is left is reported as stuck)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.drain_timeout_s
        left: dict[str, int] = {}
        while loop.time() < deadline:
            conn = await self.connect()
            try:
                left = await outstanding(conn)
            finally:
                await conn.close()
            if not any(left.values()):
                break
            await asyncio.sleep(0.5)
        return left

    async def run(self) -> ChaosResult:
        t0 = time.monotonic()
        self.say(f"seed {self.seed}; folder {self.folder}")
        await self.setup()
        assert self.load is not None
        assert self.service is not None
        self.say(f"{len(self.load.users)} users ready in {time.monotonic() - t0:.1f} s; load on")
        load_task = asyncio.create_task(self.load.run())
        try:
            await self.faults()
        finally:
            self.load.stop.set()
            await load_task
        await self.service.wait_ready()
        await self.load.finish()
        left = await self.drain()
        self.say(f"drained: {left}")
        outcomes = Counter(a for op in self.load.ops for a in op.attempts)
        self.say(f"attempt outcomes: {dict(outcomes.most_common())}")
        self.findings.merge(await self.snapshot_checks(final=True))
        duration = time.monotonic() - t0
        await asyncio.to_thread(self.service.stop)
        return ChaosResult(self.seed, self.findings, self.counts(duration), self.folder)

    def counts(self, duration: float) -> dict[str, float]:
        assert self.load is not None
        ops = self.load.ops
        return {
            "requests": len(ops),
            "acknowledged": sum(op.state == "acked" for op in ops),
            "unacknowledged": sum(op.state == "unacked" for op in ops),
            "unacknowledged_applied": self.applied_unacked,
            "refused": sum(op.state == "refused" for op in ops),
            "retried": sum(len(op.attempts) > 1 for op in ops),
            "acknowledged_on_retry": sum(
                op.state == "acked" and len(op.attempts) > 1 for op in ops
            ),
            "transfers": sum(op.kind == "transfer" for op in ops),
            "topups": sum(op.kind == "topup" for op in ops),
            "withdrawals": sum(op.kind == "withdrawal" for op in ops),
            "web_kills": self.kills["web"],
            "pg_kills": self.kills["pg"],
            "restart_max_s": max(self.restart_s, default=0.0),
            "duration_s": duration,
        }


async def run_async(config: ChaosConfig) -> ChaosResult:
    """One chaos run in a fresh temp folder; the folder is deleted unless something failed (or
    ``config.keep``), so the logs and outboxes are there to read."""
    folder = Path(tempfile.mkdtemp(prefix="qianbao-chaos-"))
    chaos = Chaos(config, folder)
    failed = True
    try:
        result = await chaos.run()
        failed = not result.ok
        return result
    finally:
        if chaos.service is not None:
            chaos.service.kill9()
        if failed or config.keep:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(chaos.pg.stop, mode="immediate")
            print(f"# chaos: kept {folder} (logs/, var/ outboxes, pg/)", flush=True)
        else:
            await asyncio.to_thread(chaos.pg.destroy)
            shutil.rmtree(folder, ignore_errors=True)


def run(config: ChaosConfig) -> ChaosResult:
    return asyncio.run(run_async(config))


def report(result: ChaosResult) -> None:
    f = result.findings
    for category in CATEGORIES:
        for what in f.items[category][:10]:
            print(f"# {category}: {what}", flush=True)
        if f.count(category) > 10:
            print(f"# {category}: ... {f.count(category) - 10} more", flush=True)
    emit("chaos_lost", f.count("lost"), "count")
    emit("chaos_duplicated", f.count("duplicated"), "count")
    emit("chaos_half_done", f.count("half_done"), "count")
    emit("chaos_stuck", f.count("stuck"), "count")
    emit("chaos_invariant_violations", f.count("invariant"), "count")
    for name, value in result.counts.items():
        emit(f"chaos_{name.removesuffix('_s')}", value, "s" if name.endswith("_s") else "count")
    print(f"# chaos: seed {result.seed}: {'OK' if result.ok else 'FAILED'}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--web-kills", type=int, default=20, help="kill -9 of the web process")
    parser.add_argument("--pg-kills", type=int, default=5, help="SIGKILL of the postmaster")
    parser.add_argument("--seed", type=int, default=None, help="random by default (printed)")
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--clients", type=int, default=6, help="concurrent load clients")
    parser.add_argument("--min-gap", type=float, default=1.0, help="least load between kills (s)")
    parser.add_argument("--max-gap", type=float, default=6.0, help="most load between kills (s)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args(argv)
    config = ChaosConfig(
        web_kills=args.web_kills,
        pg_kills=args.pg_kills,
        seed=args.seed,
        users=args.users,
        workers=args.clients,
        min_gap_s=args.min_gap,
        max_gap_s=args.max_gap,
        keep=args.keep,
    )
    result = run(config)
    report(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
