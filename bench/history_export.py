"""The HTTP part of ``bench_history``: a ``qianbao serve`` process on the loaded database, signed
in as the busiest user, times the history page (``history_page_p50_ms`` / ``_p99_ms``, first
pages with the page's filters) and streams the CSV export of the user's whole history
(``csv_export_rows_per_s``), sampling the server's resident memory every 10 ms during the
export (``csv_export_peak_rss_mb``: the peak minus the RSS just before it)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil

from bench.bench_http import PASSWORD, _free_port, _server, stop, wait_ready
from bench.common import emit, percentile
from qianbao.kernel.db import asyncpg_dsn

PAGES = [
    "/wallet/history",
    "/wallet/history?period=30d",
    "/wallet/history?direction=out",
    "/wallet/history?min_amount=500&max_amount=1000",
    "/wallet/history?q=%E6%88%BF%E7%A7%9F",  # 房租
    "/wallet/history?status=completed",
]
REQUESTS = 120


async def _sign_in_as(url: str, user_id: str) -> str:
    """Give the user a password the bench knows; returns the user's phone."""
    from qianbao.identity.passwords import hash_password

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return str(
            await conn.fetchval(
                "UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING phone",
                uuid.UUID(user_id),
                await hash_password(PASSWORD),
            )
        )
    finally:
        await conn.close()


def _rss(proc: psutil.Process) -> int:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # gone meanwhile
            total += child.memory_info().rss
    return total


class RssSampler(threading.Thread):
    """The highest RSS of a process (and its children) while running."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _rss(self.proc))
            time.sleep(0.01)


def _pages(client: httpx.Client) -> None:
    for path in PAGES:  # warm-up
        client.get(path).raise_for_status()
    times = []
    for i in range(REQUESTS):
        t0 = time.perf_counter()
        r = client.get(PAGES[i % len(PAGES)])
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    times.sort()
    emit("history_page_p50_ms", percentile(times, 50), "ms")
    emit("history_page_p99_ms", percentile(times, 99), "ms")


def _export(client: httpx.Client, pid: int) -> None:
    path = "/api/v1/wallet/transactions.csv"
    with client.stream("GET", path, params={"period": "7d"}) as r:  # warm-up
        r.raise_for_status()
        r.read()
    before = _rss(psutil.Process(pid))
    sampler = RssSampler(pid)
    sampler.start()
    rows, size = -1, 0  # the header line is not a row
    t0 = time.perf_counter()
    with client.stream("GET", path) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes():
            rows += chunk.count(b"\n")
            size += len(chunk)
    elapsed = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    emit("csv_export_rows_per_s", rows / elapsed, "rows/s")
    emit("csv_export_peak_rss_mb", max(0, sampler.peak - before) / 2**20, "MiB")
    print(
        f"# csv export: {rows:,} rows, {size / 2**20:.1f} MiB in {elapsed:.1f} s; server RSS "
        f"{before / 2**20:.0f} MiB before, {sampler.peak / 2**20:.0f} MiB at the peak",
        flush=True,
    )


def run(url: str, user_id: str) -> None:
    phone = asyncio.run(_sign_in_as(url, user_id))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    var = Path(tempfile.mkdtemp(prefix="qianbao-bench-history-"))
    procs = _server(url, port, var, worker=False)
    try:
        wait_ready([base], procs, "bench_history")
        with httpx.Client(base_url=base, timeout=120) as client:
            r = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD})
            r.raise_for_status()
            client.headers["Authorization"] = f"Bearer {r.json()['token']}"
            client.headers["Accept-Language"] = "zh-CN"
            _pages(client)
            _export(client, procs[0].pid)
    finally:
        stop(procs)
        shutil.rmtree(var, ignore_errors=True)
