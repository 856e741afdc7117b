"""CPU spent per operation by each process of the system under test (issue 17).

The web server (with its `--workers` children), the job worker and PostgreSQL (the postmaster's
children: the connections and the background writers) are sampled from /proc through psutil
before and after a timed run; the load generator, which runs in the benchmark's own process, is
not counted. Processes that start during the run count whole; ones that end during it keep what
they had spent at the first sample (a pooled server keeps its connections, so this is rare).

`QIANBAO_BENCH_PG_STATEMENTS=1` loads pg_stat_statements in the benchmark's PostgreSQL and prints
the statements that took the most time during the run, per operation (`# pg: …` lines).

`QIANBAO_BENCH_PROFILE=<folder>` also records a py-spy flame graph of the web and worker
processes during the measured run (`<folder>/<name>-web.svg`, `…-worker.svg`;
`QIANBAO_BENCH_PROFILE_FORMAT=raw` writes collapsed stacks instead); keep them out of
the repository. py-spy needs ptrace: run as root or with kernel.yama.ptrace_scope=0.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from bench.common import emit

Group = Callable[[], list[psutil.Process]]


def tree(pid: int) -> Group:
    """A process and all its descendants (uvicorn's `--workers` children)."""

    def processes() -> list[psutil.Process]:
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    return processes


def postgres(data_dir: Path) -> Group:
    lines = (data_dir / "postmaster.pid").read_text().splitlines()
    return tree(int(lines[0]))


def postgres_background(data_dir: Path) -> Group:
    """PostgreSQL's own processes (checkpointer, WAL writer, autovacuum, ...), not the
    connections: reported apart, as part of ``pg``."""
    everything = postgres(data_dir)

    def processes() -> list[psutil.Process]:
        found = []
        for proc in everything():
            try:
                title = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if "[local]" not in title and "127.0.0.1" not in title:
                found.append(proc)
        return found

    return processes


async def vacuum(url: str) -> None:
    """VACUUM ANALYZE the seeded database, so that autovacuum catching up on the seed does not
    land in the measured run."""
    import asyncpg

    from qianbao.kernel.db import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


def _sample(group: Group) -> dict[int, float]:
    seen: dict[int, float] = {}
    for proc in group():
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        seen[proc.pid] = t.user + t.system
    return seen


class CpuMeter:
    """``with meter.measure("http_transfer") as done: …; done(n)`` prints
    ``BENCH http_transfer_cpu_ms_<group>`` for each group and the total."""

    def __init__(self, groups: dict[str, Group]) -> None:
        self.groups = groups
        self.last: dict[str, float] = {}

    @contextmanager
    def measure(self, name: str) -> Iterator[Callable[[int], None]]:
        before = {g: _sample(f) for g, f in self.groups.items()}
        count = [0]
        profiles = _profile(name, self.groups)
        try:
            yield lambda n: count.__setitem__(0, n)
        finally:
            for proc in profiles:
                proc.send_signal(signal.SIGINT)  # py-spy writes the graph on SIGINT
        after = {g: _sample(f) for g, f in self.groups.items()}
        if count[0] <= 0:
            return
        total = 0.0
        for group in self.groups:
            spent = sum(t - before[group].get(pid, 0.0) for pid, t in after[group].items())
            per_op = spent / count[0] * 1000
            self.last[group] = per_op
            if group.endswith("_background"):  # a part of another group, not added twice
                print(f"# {name}: of which {group} {per_op:.2f} ms", flush=True)
                continue
            total += per_op
            emit(f"{name}_cpu_ms_{group}", per_op, "ms")
        self.last["total"] = total
        emit(f"{name}_cpu_ms_total", total, "ms")
        for proc in profiles:
            proc.wait(timeout=60)


def _profile(name: str, groups: dict[str, Group]) -> list[subprocess.Popen[bytes]]:
    folder = os.environ.get("QIANBAO_BENCH_PROFILE")
    if not folder:
        return []
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("QIANBAO_BENCH_PROFILE: py-spy is missing (make .venv/.bench)")
    Path(folder).mkdir(parents=True, exist_ok=True)
    procs = []
    for group in ("web", "worker"):
        for proc in groups.get(group, lambda: [])()[:1]:
            fmt = os.environ.get("QIANBAO_BENCH_PROFILE_FORMAT", "flamegraph")  # or raw, speedscope
            out = Path(folder) / f"{name}-{group}.{'svg' if fmt == 'flamegraph' else 'txt'}"
            # --subprocesses follows uvicorn's worker processes; --idle is off: CPU only.
            procs.append(
                subprocess.Popen(
                    [spy, "record", "--pid", str(proc.pid), "--subprocesses", "--rate", "200",
                     "--nonblocking", "--output", str(out), "--format", fmt],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
    return procs


async def _statements(url: str, reset: bool) -> list[Any]:
    import asyncpg

    from qianbao.kernel.db import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        if reset:
            await conn.execute("SELECT pg_stat_statements_reset()")
            return []
        return list(
            await conn.fetch(
                """SELECT calls, total_exec_time, total_plan_time, plans, rows,
                          regexp_replace(query, '\\s+', ' ', 'g') AS q
                     FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
                                                         WHERE datname = current_database())
                    ORDER BY total_exec_time + total_plan_time DESC LIMIT 25"""
            )
        )
    finally:
        await conn.close()


@contextmanager
def statements(url: str) -> Iterator[Callable[[int], None]]:
    """With QIANBAO_BENCH_PG_STATEMENTS: ``with statements(url) as done: …; done(n)`` prints the
    statements that took PostgreSQL's time, per operation."""
    on = bool(os.environ.get("QIANBAO_BENCH_PG_STATEMENTS"))
    count = [0]
    if on:
        asyncio.run(_statements(url, reset=True))
    yield lambda n: count.__setitem__(0, n)
    if not on or count[0] <= 0:
        return
    n = count[0]
    print(
        "# pg: calls/op  exec ms/op  plans/op  plan ms/op  statement (pg_stat_statements, "
        "this database; planning counted where the server tracks it)",
        flush=True,
    )
    for row in asyncio.run(_statements(url, reset=False)):
        print(
            f"# pg: {row['calls'] / n:6.2f} {row['total_exec_time'] / n:7.3f} "
            f"{row['plans'] / n:6.2f} {row['total_plan_time'] / n:7.3f}  {row['q'][:140]}",
            flush=True,
        )
