"""`make overload`: three times the load the service can take, and what it does about it.

    make overload OVERLOAD_ARGS="--seconds 30 --factor 3 --seed 1"

1. A throwaway deployment as `make chaos` starts one (bench/chaos_service.py): embedded
   PostgreSQL, migrated, the risk limit rows lifted, `qianbao serve` (web and in-process job
   worker, as `make run`) as its own OS process. Users sign up, set a PIN, bind a card and top up
   through the public API (bench/chaos_load.py); the velocity rule and the code budgets are lifted
   (a limit is not what this measures); the per-address throttle keeps its defaults (each user
   signs up from its own ``X-Forwarded-For`` address, as behind a proxy; transfers and balance
   reads are not throttled per address).
2. Sustainable rate: closed loops of 4, 8, 16 clients sending ``POST /api/v1/wallet/transfers``
   (a new Idempotency-Key each); the best throughput whose p99 is under 1 s.
3. Overload: an open loop (requests started on a fixed schedule whatever comes back) at
   ``--factor`` times that rate for ``--seconds``: transfers and some ``GET /api/v1/wallet``.
   Every request's start, latency, status and problem ``code`` are recorded; the web process's
   RSS is sampled every second from start to end.
4. Recovery: the moment the last overload request is sent, two clients start a gentle closed
   loop; ``overload_recovery_s`` is when the last of their requests that failed or took a second
   or more came back, counted from the end of the load (0: none did).
5. Money: the ledger invariants and every transfer looked up by its idempotency key (acknowledged
   → stored exactly once; refused → absent; unanswered → all or nothing; each balance what the
   transfers add up to), with the checks of `make chaos` (bench/chaos_checks.py).

Prints ``BENCH overload_<name> <value> <unit>`` lines and a verdict; exits 1 when a criterion
fails (fast shedding, accepted p99, no other 5xx, no time-outs, flat memory, recovery, money).
The load generator runs on the same machine and takes CPU from the service: keep it cheap
(bench/rawhttp.py keep-alive connections, one process, no httpx in the hot path)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench.chaos import LIFT_LIMITS
from bench.chaos_checks import (
    CATEGORIES,
    Findings,
    check_balances,
    check_ledger,
    check_requests,
    check_totals,
)
from bench.chaos_load import PIN, Op, SmsBox, User, make_user, new_client, wait_funded
from bench.chaos_service import Files, Service
from bench.common import emit, percentile
from bench.rawhttp import Connection, Pool
from qianbao.kernel.db import asyncpg_dsn
from qianbao.ops.embedded_pg import EmbeddedPostgres
from qianbao.ops.migrate import upgrade

TRANSFERS = "/api/v1/wallet/transfers"
WALLET = "/api/v1/wallet"
SHED = (429, 503)
SLOW_S = 1.0  # "normal latency" and the p99 target
RECOVERY_WITHIN_S = 5.0  # "within a few seconds of the load stopping"
STEADY_AFTER_S = 2.0  # the overload's figures are also printed without its first seconds
RSS_SLACK = (1.20, 8.0)  # memory flat: end RSS <= start * 1.2 + 8 MB
TIMEOUT = 0  # status of a client time-out
CONN_ERROR = -1  # status of a connection refused / reset / torn answer


@dataclass
class OverloadConfig:
    seconds: float = 30.0  # the overload phase
    factor: float = 3.0
    seed: int | None = None
    users: int = 32
    levels: tuple[int, ...] = (4, 8, 16)
    probe_s: float | None = None  # each sustainable level; default: half of ``seconds``
    recovery_s: float | None = None  # default: a third of ``seconds``, at least 5
    recovery_clients: int = 2
    read_share: float = 0.15  # GET /api/v1/wallet among the overload's requests
    timeout_s: float = 10.0  # the client's time-out
    warm_connections: int = 0  # keep-alive connections opened before the overload
    env: dict[str, str] = field(default_factory=dict)  # QIANBAO_* settings for the service
    opening: str = "20000.00"
    keep: bool = False
    quiet: bool = False

    @property
    def probe(self) -> float:
        return self.probe_s if self.probe_s is not None else max(3.0, self.seconds / 2)

    @property
    def recovery(self) -> float:
        return self.recovery_s if self.recovery_s is not None else max(5.0, self.seconds / 3)


class Result:
    """One request: when it started (seconds from its phase's origin), how long it took, what came
    back (status 0: client time-out, -1: connection error)."""

    __slots__ = ("code", "kind", "latency", "start", "status")

    def __init__(self, kind: str, start: float, latency: float, status: int, code: str) -> None:
        self.kind = kind
        self.start = start
        self.latency = latency
        self.status = status
        self.code = code

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def shed(self) -> bool:
        return self.status in SHED

    @property
    def end(self) -> float:
        return self.start + self.latency


def p(values: list[float], q: float) -> float:
    return percentile(sorted(values), q)


def ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.0f} ms"  # NaN: nothing measured


@dataclass
class Cpu:
    """CPU seconds used so far by the web process, PostgreSQL (postmaster and backends) and this
    load generator."""

    service: float
    postgres: float
    generator: float
    wall: float

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.service - other.service,
            self.postgres - other.postgres,
            self.generator - other.generator,
            self.wall - other.wall,
        )


def _cpu_of(proc: psutil.Process, *, reaped: bool = False) -> float:
    """User + system seconds; with ``reaped``, also those of its children that exited (the
    postmaster's backends that closed their connection)."""
    with contextlib.suppress(psutil.Error):
        t = proc.cpu_times()
        total = t.user + t.system
        if reaped:
            total += t.children_user + t.children_system
        return float(total)
    return 0.0


@dataclass
class Overload:
    config: OverloadConfig
    folder: Path
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random)
    pg: EmbeddedPostgres | None = None
    url: str = ""
    service: Service | None = None
    users: list[User] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)  # every transfer of every phase, for the checks
    rss: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, MB)
    marks: dict[str, float] = field(default_factory=dict)  # phase → monotonic
    cpu: dict[str, Cpu] = field(default_factory=dict)
    findings: Findings = field(default_factory=Findings)
    _auth: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seed = (
            self.config.seed
            if self.config.seed is not None
            else random.SystemRandom().randrange(10**6)
        )
        self.rng = random.Random(self.seed)
        self.files = Files(self.folder)
        self.pg = EmbeddedPostgres(self.folder / "pg", extra_conf={"max_connections": "200"})

    def say(self, text: str) -> None:
        if not self.config.quiet:
            print(f"# overload: {text}", flush=True)

    @property
    def host_port(self) -> tuple[str, int]:
        assert self.service is not None
        return "127.0.0.1", self.service.port

    # -- set-up ---------------------------------------------------------------------------------
    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(asyncpg_dsn(self.url), timeout=10)

    async def setup(self) -> None:
        assert self.pg is not None
        await asyncio.to_thread(self.pg.start)
        await asyncio.to_thread(self.pg.ensure_database, "qianbao")
        self.url = self.pg.url("qianbao")
        await asyncio.to_thread(upgrade, self.url)
        conn = await self.connect()
        try:
            await conn.execute(LIFT_LIMITS)
        finally:
            await conn.close()
        self.service = Service(self.url, self.files, env=dict(self.config.env))
        if self.config.env:
            self.say(f"service settings: {self.config.env}")
        self.service.start()
        await self.service.wait_ready()
        sms = SmsBox(self.files.sms)
        gate = asyncio.Semaphore(6)
        base = self.service.base

        async def one(i: int) -> User:
            async with gate, new_client(base, timeout=30) as client:
                # One address per person, as behind a proxy (trusted: 127.0.0.1): the per-address
                # sign-up throttle stays at its default and is not what this measures.
                client.headers["X-Forwarded-For"] = f"10.13.{i // 250}.{i % 250 + 1}"
                return await make_user(client, sms, i, self.config.opening)

        self.users = list(await asyncio.gather(*(one(i) for i in range(self.config.users))))
        async with new_client(self.service.base, timeout=30) as client:
            await wait_funded(client, self.users)
        self._auth = [f"Bearer {u.token}" for u in self.users]

    # -- observation ----------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        assert self.service is not None
        assert self.service.proc is not None
        return self.service.proc.pid

    async def sample_rss(self, stop: asyncio.Event) -> None:
        proc = psutil.Process(self.pid)
        while True:
            with contextlib.suppress(psutil.Error):
                self.rss.append((time.monotonic(), proc.memory_info().rss / 2**20))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await stop.wait()
                    return

    def rss_now(self) -> float:
        mb = psutil.Process(self.pid).memory_info().rss / 2**20
        self.rss.append((time.monotonic(), mb))
        return float(mb)

    def cpu_now(self) -> Cpu:
        assert self.pg is not None
        postgres = 0.0
        status = self.pg.status()
        if status.pid is not None:
            with contextlib.suppress(psutil.Error):
                master = psutil.Process(status.pid)
                postgres = _cpu_of(master, reaped=True) + sum(
                    _cpu_of(c) for c in master.children(recursive=True)
                )
        return Cpu(
            _cpu_of(psutil.Process(self.pid)),
            postgres,
            _cpu_of(psutil.Process()),
            time.monotonic(),
        )

    async def backlog(self) -> int:
        conn = await self.connect()
        try:
            return int(
                await conn.fetchval(
                    "SELECT (SELECT count(*) FROM jobs WHERE status = 'queued')"
                    " + (SELECT count(*) FROM outbox_messages WHERE relayed_at IS NULL)"
                )
            )
        finally:
            await conn.close()

    async def admission(self) -> dict[str, Any]:
        assert self.service is not None
        with contextlib.suppress(httpx.HTTPError, ValueError):
            async with httpx.AsyncClient(base_url=self.service.base, timeout=5) as client:
                report = (await client.get("/readyz")).json()
                return dict(report.get("admission") or {})
        return {}

    # -- requests -------------------------------------------------------------------------------
    async def send(
        self, conn: Connection | Pool, kind: str, rng: random.Random, origin: float
    ) -> Result:
        n = len(self.users)
        sender = rng.randrange(n)
        op: Op | None = None
        if kind == "transfer":
            receiver = (sender + 1 + rng.randrange(n - 1)) % n
            amount = f"{rng.randint(1, 99) / 100:.2f}"
            body = {"to": self.users[receiver].phone, "amount": amount, "currency": "CNY"}
            body["pin"] = PIN
            op = Op("transfer", uuid.uuid4().hex, sender, body, to_user=receiver)
            self.ops.append(op)
            method, path, payload = "POST", TRANSFERS, json.dumps(body).encode()
            headers = {"Authorization": self._auth[sender], "Idempotency-Key": op.key}
        else:
            method, path, payload = "GET", WALLET, b""
            headers = {"Authorization": self._auth[sender]}
        t0 = time.perf_counter()
        body_bytes = b""
        try:
            async with asyncio.timeout(self.config.timeout_s):
                response = await conn.request(method, path, payload, headers)
            status, body_bytes = response.status, response.body
            code = ""
        except TimeoutError:
            status, code = TIMEOUT, "timeout"
        except (OSError, asyncio.IncompleteReadError, ValueError, RuntimeError) as exc:
            status, code = CONN_ERROR, type(exc).__name__
        latency = time.perf_counter() - t0
        if status <= 0 and isinstance(conn, Connection):
            conn.close()  # a time-out leaves the answer unread: never reuse the connection
        if status >= 300:
            try:
                code = str(json.loads(body_bytes).get("code"))
            except (ValueError, AttributeError):
                code = body_bytes[:60].decode(errors="replace")
        if op is not None:
            if 200 <= status < 300:
                op.state, op.result = "acked", json.loads(body_bytes)
                op.attempts.append("ok")
            else:
                op.state = "refused" if 400 <= status < 500 else "unacked"
                op.attempts.append(f"{status}:{code}")
        return Result(kind, t0 - origin, latency, status, code)

    async def warm(self, pool: Pool, n: int) -> None:
        """Open ``n`` keep-alive connections before the load (as a proxy's upstream pool or
        clients with their connection up would have them): the load's first second then measures
        the service, not this generator's TCP handshakes."""
        if n <= 0:
            return
        host, port = self.host_port
        conns = [Connection(host, port) for _ in range(n)]
        await asyncio.gather(*(c.request("GET", "/healthz", b"") for c in conns))
        pool.idle.extend(conns)
        pool.opened += n

    async def closed_loop(
        self, clients: int, seconds: float, origin: float, read_share: float = 0.0
    ) -> list[Result]:
        host, port = self.host_port
        results: list[Result] = []
        deadline = time.perf_counter() + seconds

        async def client(n: int) -> None:
            rng = random.Random(self.rng.randrange(2**32) + n)
            conn = Connection(host, port)
            try:
                while time.perf_counter() < deadline:
                    kind = "read" if rng.random() < read_share else "transfer"
                    results.append(await self.send(conn, kind, rng, origin))
            finally:
                conn.close()

        await asyncio.gather(*(client(n) for n in range(clients)))
        return results

    async def open_loop(
        self, rate: float, seconds: float, results: list[Result]
    ) -> tuple[float, float, set[asyncio.Task[None]]]:
        """Start ``rate`` requests a second for ``seconds``, whatever comes back. Returns the
        start and end of the sending, and the requests still running."""
        host, port = self.host_port
        pool = Pool(host, port)
        rng = random.Random(self.seed * 7 + 1)
        running: set[asyncio.Task[None]] = set()
        total = max(1, int(rate * seconds))
        await self.warm(pool, self.config.warm_connections)
        t0 = time.perf_counter()

        async def one(kind: str) -> None:
            results.append(await self.send(pool, kind, rng, t0))

        i = 0
        while i < total:
            due = min(total, int((time.perf_counter() - t0) * rate) + 1)
            while i < due:
                kind = "read" if rng.random() < self.config.read_share else "transfer"
                task = asyncio.create_task(one(kind))
                running.add(task)
                task.add_done_callback(running.discard)
                i += 1
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        return t0, time.perf_counter(), running

    # -- the phases -----------------------------------------------------------------------------
    async def sustainable(self) -> tuple[float, dict[int, tuple[float, float]]]:
        levels: dict[int, tuple[float, float]] = {}  # clients → (tps, p99 s)
        for clients in self.config.levels:
            t0 = time.perf_counter()
            results = await self.closed_loop(clients, self.config.probe, t0)
            took = time.perf_counter() - t0
            ok = [r for r in results if r.ok]
            p99 = p([r.latency for r in results], 99)
            levels[clients] = (len(ok) / took, p99)
            bad = Counter(f"{r.status} {r.code}" for r in results if not r.ok)
            self.say(
                f"closed loop, {clients} clients: {len(ok) / took:.1f} tps, "
                f"p50 {ms(p([r.latency for r in results], 50))}, p99 {ms(p99)}"
                + (f", not 2xx: {dict(bad)}" if bad else "")
                + f"; job backlog {await self.backlog()}"
            )
        fast = {c: v for c, v in levels.items() if v[1] < SLOW_S}
        if not fast:
            self.say("no concurrency level had p99 < 1 s: taking the one with the lowest p99")
            calmest = min(levels, key=lambda c: levels[c][1])
            fast = {calmest: levels[calmest]}
        best = max(fast, key=lambda c: fast[c][0])
        return fast[best][0], levels

    async def overload_and_recover(
        self, rate: float
    ) -> tuple[list[Result], list[Result], float, float]:
        """The open loop at ``rate``; the moment it has sent its last request, the gentle closed
        loop starts (while the overload's last requests are still being answered)."""
        overload: list[Result] = []
        t0, t_end, running = await self.open_loop(rate, self.config.seconds, overload)
        self.marks["load_end"] = time.monotonic()
        self.cpu["load_end"] = self.cpu_now()
        recovery = await self.closed_loop(
            self.config.recovery_clients, self.config.recovery, t_end, read_share=0.0
        )
        if running:
            await asyncio.gather(*running)
        return overload, recovery, t_end - t0, len(overload) / max(t_end - t0, 1e-9)

    async def settle(self, within_s: float = 30.0) -> dict[str, Any]:
        """Until the service works on nothing (requests the client gave up on may still run)."""
        deadline = time.monotonic() + within_s
        report: dict[str, Any] = {}
        while time.monotonic() < deadline:
            report = await self.admission()
            if not report or report.get("in_flight", 0) <= 1:  # /readyz itself is exempt
                break
            await asyncio.sleep(0.2)
        return report

    async def money_checks(self) -> Findings:
        found = Findings()
        conn = await self.connect()
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                seen = await check_requests(conn, self.users, self.ops, found)
                await check_ledger(conn, found)
                await check_totals(conn, self.ops, seen, found)
                await check_balances(conn, self.users, self.ops, seen, found)
        finally:
            await conn.close()
        return found

    async def run(self) -> Report:
        t_start = time.monotonic()
        self.say(f"seed {self.seed}; folder {self.folder}")
        await self.setup()
        self.say(f"{len(self.users)} users ready in {time.monotonic() - t_start:.1f} s")
        stop = asyncio.Event()
        sampler = asyncio.create_task(self.sample_rss(stop))
        try:
            tps, levels = await self.sustainable()
            rate = tps * self.config.factor
            self.say(
                f"sustainable {tps:.1f} tps; overload at {rate:.1f} requests/s for "
                f"{self.config.seconds:.0f} s ({self.config.read_share:.0%} balance reads)"
            )
            rss_start = self.rss_now()
            self.marks["load_start"] = time.monotonic()
            self.cpu["load_start"] = self.cpu_now()
            overload, recovery, sent_s, offered = await self.overload_and_recover(rate)
            self.cpu["recovery_end"] = self.cpu_now()
            admission = await self.settle()
            await asyncio.sleep(2.0)  # let the allocator settle before the last RSS reading
            rss_end = self.rss_now()
            backlog = await self.backlog()
        finally:
            stop.set()
            await sampler
        peak = max(mb for t, mb in self.rss if t >= self.marks.get("load_start", 0.0))
        self.findings = await self.money_checks()
        report = Report(
            config=self.config,
            seed=self.seed,
            sustainable_tps=tps,
            levels=levels,
            offered_tps=offered,
            sent_s=sent_s,
            overload=overload,
            recovery=recovery,
            rss_start=rss_start,
            rss_peak=peak,
            rss_end=rss_end,
            rss_series=[(t - self.marks["load_start"], mb) for t, mb in self.rss],
            cpu_load=self.cpu["load_end"] - self.cpu["load_start"],
            cpu_recovery=self.cpu["recovery_end"] - self.cpu["load_end"],
            admission=admission,
            backlog=backlog,
            findings=self.findings,
            transfers=len(self.ops),
            duration_s=time.monotonic() - t_start,
            errors=self.server_errors(),
        )
        assert self.service is not None
        await asyncio.to_thread(self.service.stop)
        return report

    def server_errors(self) -> list[str]:
        """The service's own error lines (its log level is WARNING): what a 500 was."""
        assert self.service is not None
        path = self.files.logs / f"serve-{self.service.starts:02d}.log"
        if not path.exists():
            return []
        lines = path.read_text(errors="replace").splitlines()
        return [line for line in lines if "ERROR" in line or "Error" in line or "Traceback" in line]


@dataclass
class Report:
    config: OverloadConfig
    seed: int
    sustainable_tps: float
    levels: dict[int, tuple[float, float]]
    offered_tps: float
    sent_s: float
    overload: list[Result]
    recovery: list[Result]
    rss_start: float
    rss_peak: float
    rss_end: float
    rss_series: list[tuple[float, float]]
    cpu_load: Cpu
    cpu_recovery: Cpu
    admission: dict[str, Any]
    backlog: int
    findings: Findings
    transfers: int
    duration_s: float
    errors: list[str]

    # -- figures --------------------------------------------------------------------------------
    @property
    def accepted(self) -> list[Result]:
        return [r for r in self.overload if r.ok]

    @property
    def shed(self) -> list[Result]:
        return [r for r in self.overload if r.shed]

    @property
    def other_5xx(self) -> list[Result]:
        return [r for r in self.overload + self.recovery if r.status >= 500 and not r.shed]

    @property
    def timeouts(self) -> list[Result]:
        return [r for r in self.overload + self.recovery if r.status == TIMEOUT]

    @property
    def conn_errors(self) -> list[Result]:
        return [r for r in self.overload + self.recovery if r.status == CONN_ERROR]

    @property
    def recovery_s(self) -> float:
        """From the end of the load to the answer of the last recovery request that failed or
        was slow (0: none); infinite when the recovery window ends on a bad one."""
        bad = [r for r in self.recovery if not r.ok or r.latency >= SLOW_S]
        if not bad:
            return 0.0
        last = max(r.end for r in bad)
        if not any(r.start >= last for r in self.recovery):
            return float("inf")
        return last

    @property
    def recovered(self) -> list[Result]:
        after = self.recovery_s
        return [r for r in self.recovery if r.start >= after]

    def verdict(self) -> list[tuple[str, bool, str]]:
        shed_p99 = p([r.latency for r in self.shed], 99)
        acc_p99 = p([r.latency for r in self.accepted], 99)
        limit = self.rss_start * RSS_SLACK[0] + RSS_SLACK[1]
        rec = self.recovery_s
        rec_p99 = p([r.latency for r in self.recovered], 99)
        return [
            (
                "fast shedding",
                not self.shed or shed_p99 < SLOW_S,
                f"shed p99 {ms(shed_p99)} of {len(self.shed)} refusals",
            ),
            ("accepted p99", bool(self.accepted) and acc_p99 < SLOW_S, f"{ms(acc_p99)}"),
            ("no other 5xx", not self.other_5xx, f"{len(self.other_5xx)}"),
            (
                "no time-outs or connection errors",
                not self.timeouts and not self.conn_errors,
                f"{len(self.timeouts)} time-outs, {len(self.conn_errors)} connection errors",
            ),
            (
                "memory flat",
                self.rss_end <= limit,
                f"RSS {self.rss_start:.0f} → peak {self.rss_peak:.0f} → end {self.rss_end:.0f} MB"
                f" (limit {limit:.0f})",
            ),
            (
                "recovered",
                rec <= RECOVERY_WITHIN_S and bool(self.recovered) and rec_p99 < SLOW_S,
                f"in {rec:.1f} s, then p99 {ms(rec_p99)}",
            ),
            ("money", self.findings.total() == 0, f"{self.findings.total()} violations"),
        ]

    @property
    def ok(self) -> bool:
        return all(good for _, good, _ in self.verdict())

    # -- printing -------------------------------------------------------------------------------
    def print(self) -> None:
        say = print
        load = self.overload
        say(
            f"# overload: {len(load)} requests in {self.sent_s:.1f} s "
            f"({sum(r.kind == 'transfer' for r in load)} transfers, "
            f"{sum(r.kind == 'read' for r in load)} balance reads); outcomes: "
            + str(dict(Counter(f"{r.status} {r.code}".strip() for r in load).most_common()))
        )
        step = 5.0 if self.sent_s > 12 else 1.0
        t = 0.0
        while t < self.sent_s:
            part = [r for r in load if t <= r.start < t + step]
            ok = [r.latency for r in part if r.ok]
            shed = [r.latency for r in part if r.shed]
            say(
                f"#   sent {t:4.0f}-{t + step:<3.0f}s: {len(part) / step:6.1f}/s, "
                f"accepted {len(ok) / step:6.1f}/s (p50 {ms(p(ok, 50))}, p99 {ms(p(ok, 99))}), "
                f"shed {len(shed) / step:6.1f}/s (p99 {ms(p(shed, 99))}), "
                f"other {len(part) - len(ok) - len(shed)}"
            )
            t += step
        steady = [r for r in load if r.start >= STEADY_AFTER_S]
        say(
            f"# overload: after the first {STEADY_AFTER_S:.0f} s: accepted p99 "
            f"{ms(p([r.latency for r in steady if r.ok], 99))}, shed p99 "
            f"{ms(p([r.latency for r in steady if r.shed], 99))} (the first seconds include "
            "the service accepting hundreds of new connections; --warm N opens them before)"
        )
        for kind in ("transfer", "read"):
            ok = [r.latency for r in self.accepted if r.kind == kind]
            say(
                f"# overload: accepted {kind}s {len(ok) / self.sent_s:.1f}/s, "
                f"p50 {ms(p(ok, 50))}, p99 {ms(p(ok, 99))}, max {ms(max(ok, default=float('nan')))}"
            )
        say("# recovery (seconds after the load stopped, by start):")
        for second in range(int(self.config.recovery) + 1):
            part = [r for r in self.recovery if second <= r.start < second + 1]
            if part:
                lat = [r.latency for r in part]
                say(
                    f"#   {second:3d}s: {len(part)} requests, {sum(r.ok for r in part)} 2xx, "
                    f"p50 {ms(p(lat, 50))}, max {ms(max(lat))}"
                )
        for name, cpu in (("overload", self.cpu_load), ("recovery", self.cpu_recovery)):
            say(
                f"# cpu during {name} ({cpu.wall:.1f} s wall, 2 cores = {2 * cpu.wall:.0f} "
                f"core-s): web process {cpu.service:.1f} s, PostgreSQL {cpu.postgres:.1f} s, "
                f"load generator {cpu.generator:.1f} s"
            )
        series = " ".join(f"{mb:.0f}" for t, mb in self.rss_series if t >= -3)
        say(f"# web RSS (MB, 1 s apart from 3 s before the load): {series}")
        say(
            f"# admission at the end: {self.admission or 'not reported'}; "
            f"job backlog {self.backlog}; {self.transfers} transfers checked"
        )
        for line in self.errors[:10]:
            say(f"# server log: {line[:300]}")
        if len(self.errors) > 10:
            say(f"# server log: ... {len(self.errors) - 10} more error lines")
        for r in self.other_5xx[:5]:
            say(f"# other 5xx: {r.kind} {r.status} {r.code} after {ms(r.latency)}")
        for category in CATEGORIES:
            for what in self.findings.items[category][:10]:
                say(f"# {category}: {what}")

        acc = [r.latency for r in self.accepted]
        emit("overload_sustainable_tps", self.sustainable_tps, "tps")
        emit("overload_offered_tps", self.offered_tps, "tps")
        emit("overload_accepted_tps", len(acc) / self.sent_s, "tps")
        emit("overload_accepted_p50_ms", p(acc, 50) * 1000, "ms")
        emit("overload_accepted_p99_ms", p(acc, 99) * 1000, "ms")
        emit("overload_shed_ratio", len(self.shed) / max(1, len(load)), "ratio")
        emit("overload_shed_p99_ms", p([r.latency for r in self.shed], 99) * 1000, "ms")
        emit("overload_5xx_other", len(self.other_5xx), "count")
        emit("overload_timeouts", len(self.timeouts), "count")
        emit("overload_conn_errors", len(self.conn_errors), "count")
        emit("overload_rss_start_mb", self.rss_start, "MB")
        emit("overload_rss_peak_mb", self.rss_peak, "MB")
        emit("overload_rss_end_mb", self.rss_end, "MB")
        emit("overload_recovery_s", self.recovery_s, "s")
        emit("overload_recovered_p99_ms", p([r.latency for r in self.recovered], 99) * 1000, "ms")
        emit("overload_money_violations", self.findings.total(), "count")
        verdict = self.verdict()
        parts = [f"{name} {'OK' if good else 'FAIL'} ({what})" for name, good, what in verdict]
        failed = [name for name, good, _ in verdict if not good]
        say(f"# overload: verdict: {'; '.join(parts)}")
        say(
            f"# overload: seed {self.seed}, {self.duration_s:.0f} s: "
            + ("OK" if not failed else f"FAILED: {', '.join(failed)}"),
            flush=True,
        )


def _more_files() -> None:
    """Under overload without shedding, thousands of connections can be open at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run_async(config: OverloadConfig) -> Report:
    """One run in a fresh temp folder, deleted unless something failed (or ``config.keep``)."""
    _more_files()
    folder = Path(tempfile.mkdtemp(prefix="qianbao-overload-"))
    run = Overload(config, folder)
    failed = True
    try:
        report = await run.run()
        failed = not report.ok
        return report
    finally:
        if run.service is not None:
            run.service.kill9()
        assert run.pg is not None
        if failed or config.keep:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(run.pg.stop, mode="immediate")
            print(f"# overload: kept {folder} (logs/, var/, pg/)", flush=True)
        else:
            await asyncio.to_thread(run.pg.destroy)
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make overload", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="the overload phase (s)")
    parser.add_argument("--factor", type=float, default=3.0, help="times the sustainable rate")
    parser.add_argument("--seed", type=int, default=None, help="random by default (printed)")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument(
        "--levels", default="4,8,16", help="closed-loop clients tried for the sustainable rate"
    )
    parser.add_argument("--probe", type=float, default=None, help="each level (s); seconds/2")
    parser.add_argument("--recovery", type=float, default=None, help="recovery load (s)")
    parser.add_argument("--timeout", type=float, default=10.0, help="client time-out (s)")
    parser.add_argument(
        "--warm", type=int, default=0, help="connections opened before the overload"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="QIANBAO_X=V",
        help="a setting for the service, e.g. QIANBAO_HTTP__MAX_IN_FLIGHT=16 (repeatable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    if not all(k.startswith("QIANBAO_") for k in env):
        parser.error("--env takes QIANBAO_NAME=VALUE")
    config = OverloadConfig(
        seconds=args.seconds,
        factor=args.factor,
        seed=args.seed,
        users=args.users,
        levels=tuple(int(x) for x in args.levels.split(",") if x),
        probe_s=args.probe,
        recovery_s=args.recovery,
        timeout_s=args.timeout,
        warm_connections=args.warm,
        env=env,
        keep=args.keep,
    )
    report = asyncio.run(run_async(config))
    report.print()
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
