"""Webhook delivery (issue 14): how many signed deliveries per second one dispatcher (one worker
process's share) sends to a receiver on localhost, keep-alive, in another process, that verifies
every signature with the ``standardwebhooks`` package and counts duplicates.

EVENTS events are published for ENDPOINTS endpoints of different owners (every event to every
endpoint of its owner, as a payment would), then the dispatcher loop that the worker runs
(``webhooks.dispatch_due`` rounds on one HTTP client) is timed until nothing is due. Each round
claims a batch in one short transaction, sends it concurrently with no connection held, and
records the attempts in another: the figure includes all the database work, the signing and
HTTP. Prints ``webhook_deliveries_per_s`` and, for scale, deliveries per pgbench transaction."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bench_http import _free_port
from bench.common import BenchContext, emit
from qianbao.ops.migrate import upgrade

ENDPOINTS = 20
EVENTS = 4_000
BATCH = 100
CONCURRENCY = 32


def _settings() -> Any:
    from qianbao.settings import Settings

    return Settings(
        environment="test",
        var_dir=Path(tempfile.mkdtemp()),
        security={"secret_key": "bench-webhooks-" + "k" * 40},
        webhooks={
            "allow_private_targets": True,  # the receiver is on localhost
            "batch_size": BATCH,
            "concurrency": CONCURRENCY,
        },
    )


async def _seed(url: str, settings: Any, sink: str) -> dict[str, str]:
    """The endpoints and the events; returns each endpoint's path and signing secret."""
    from qianbao import webhooks
    from qianbao.kernel.db import Database

    db = Database(url)
    now = datetime.now(UTC)  # noqa: TID251 - a benchmark, not the service
    try:
        owners = [uuid.uuid4() for _ in range(ENDPOINTS)]
        secrets: dict[str, str] = {}
        async with db.transaction() as s:
            for n, owner in enumerate(owners):
                _, secrets[f"/hooks/{n}"] = await webhooks.create_endpoint(
                    s, settings, owner_id=owner, url=f"{sink}/hooks/{n}",
                    event_types=["payment.succeeded"],
                )  # fmt: skip
        for start in range(0, EVENTS, 500):
            async with db.transaction() as s:
                for n in range(start, min(start + 500, EVENTS)):
                    data = {"id": f"pay_{n:06d}", "amount": {"amount": "28.00", "currency": "CNY"}}
                    await webhooks.publish(
                        s, owner_id=owners[n % ENDPOINTS], event_type="payment.succeeded",
                        data=data, occurred_at=now,
                    )  # fmt: skip
    finally:
        await db.dispose()
    return secrets


async def _drain(url: str, settings: Any) -> tuple[int, float]:
    from qianbao import webhooks
    from qianbao.kernel.clock import system_clock
    from qianbao.kernel.db import Database
    from qianbao.webhooks.targets import make_client

    db = Database(url)
    sent = 0
    try:
        async with make_client(settings) as client:
            t0 = time.perf_counter()
            while (
                claimed := await webhooks.dispatch_due(db, settings, system_clock, client=client)
            ) > 0:
                sent += claimed
            elapsed = time.perf_counter() - t0
    finally:
        await db.dispose()
    return sent, elapsed


async def _failed(url: str) -> int:
    import asyncpg

    from qianbao.kernel.db import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'"
            )
        )
    finally:
        await conn.close()


def run(ctx: BenchContext) -> None:
    ctx.pg.ensure_database("bench_webhooks")
    url = ctx.pg.url("bench_webhooks")
    upgrade(url)
    from qianbao.kernel.logging import configure_logging

    # As a service logs: JSON lines (here to the terminal, so warnings only: one line per
    # delivery would measure the terminal).
    configure_logging(level="WARNING", json_logs=True)
    settings = _settings()
    port = _free_port()
    secrets = asyncio.run(_seed(url, settings, f"http://localhost:{port}"))
    secrets_file = Path(tempfile.mkdtemp()) / "secrets.json"
    secrets_file.write_text(json.dumps(secrets))
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_sink", str(port), str(secrets_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None
        assert sink.stdout.readline().strip() == "ready"
        sent, elapsed = asyncio.run(_drain(url, settings))
        left = asyncio.run(_failed(url))
    finally:
        sink.terminate()
        out, _ = sink.communicate(timeout=10)
        secrets_file.unlink()
    verified, rejected, duplicates = (int(x) for x in out.strip().splitlines()[-1].split())
    if sent != EVENTS or left or verified != EVENTS or rejected or duplicates:
        raise SystemExit(
            f"webhook bench: sent {sent}, verified {verified}, rejected {rejected}, "
            f"duplicates {duplicates}, not delivered {left}"
        )
    rate = sent / elapsed
    emit("webhook_deliveries_per_s", rate, "per_s")
    ctx.results["webhook_deliveries_per_s"] = rate
    print(
        f"# webhooks: {sent} deliveries to {ENDPOINTS} endpoints in {elapsed:.2f} s, one "
        f"dispatcher (batch {BATCH}, {CONCURRENCY} in flight), each verified by the receiver "
        f"(standardwebhooks), none lost or doubled; per pgbench transaction: "
        f"{rate / ctx.baseline_tps:.3f}",
        flush=True,
    )
