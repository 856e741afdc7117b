"""The service through PgBouncer in transaction mode (issue 17, scale-out): a real PgBouncer
(Debian's package, installed by .ci/run) with fewer server connections than the app's pool, so
transactions of different requests share server connections. Money moves exactly, the worker
delivers through it, and LISTEN (live chat between processes) goes straight to PostgreSQL.

Skipped when no pgbouncer binary is installed (`apt-get install pgbouncer`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from qianbao.kernel.clock import TestClock
from qianbao.kernel.db import asyncpg_dsn
from qianbao.main import create_app
from qianbao.ops.embedded_pg import SYSTEM_USER
from qianbao.settings import Settings
from tests.integration.ledger_helpers import check_invariants
from tests.support.identity import bearer, deliver, e164, sms_messages
from tests.support.wallet import PIN, ready_user

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
)
# .ci/run installs it and sets QIANBAO_REQUIRE_PGBOUNCER=1: there, a missing one fails.
REQUIRED = bool(os.environ.get("QIANBAO_REQUIRE_PGBOUNCER"))
pytestmark = pytest.mark.skipif(
    PGBOUNCER is None and not REQUIRED, reason="pgbouncer is not installed"
)
SERVER_CONNECTIONS = 3  # far fewer than the requests in flight: server connections are shared


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pgbouncer_url(fresh_db_url: str) -> Iterator[str]:
    if PGBOUNCER is None:
        pytest.fail("QIANBAO_REQUIRE_PGBOUNCER is set but pgbouncer is not installed")
    url = make_url(fresh_db_url)
    host = url.query.get("host") or url.host or "localhost"
    target = f"host={host} port={url.port or 5432} dbname={url.database} user={url.username}"
    if url.password:
        target += f" password={url.password}"
    folder = Path(tempfile.mkdtemp(prefix="qianbao-pgbouncer-"))
    port = _free_port()
    (folder / "users.txt").write_text(f'"{url.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
qianbao = {target}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
logfile = {folder / "pgbouncer.log"}
"""
    )
    command = [str(PGBOUNCER), str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(folder, SYSTEM_USER)
        for f in folder.iterdir():
            shutil.chown(f, SYSTEM_USER)
        command[1:1] = ["-u", SYSTEM_USER]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = folder / "pgbouncer.log"
                    tail = log.read_text()[-2000:]
                    raise RuntimeError(f"pgbouncer did not start: {tail}") from None
                time.sleep(0.05)
        yield url.set(host="127.0.0.1", port=port, database="qianbao", query={}).render_as_string(
            hide_password=False
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def pooled_app(
    settings: Settings, pgbouncer_url: str, fresh_db_url: str, clock: TestClock
) -> AsyncIterator[FastAPI]:
    settings.database.url = SecretStr(pgbouncer_url)
    settings.database.direct_url = SecretStr(fresh_db_url)
    settings.database.pooler = "pgbouncer"
    app = create_app(settings, run_worker=False, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


async def test_money_moves_exactly_through_pgbouncer_and_listen_goes_direct(
    pooled_app: FastAPI, fresh_db_url: str
):
    transport = httpx.ASGITransport(app=pooled_app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        people = [await ready_user(client, pooled_app, minor=100_00) for _ in range(4)]

        async def send(n: int) -> httpx.Response:
            _, token, _ = people[n % 4]
            to, _, _ = people[(n + 1) % 4]
            return await client.post(
                "/api/v1/wallet/transfers",
                json={"to": to, "amount": "1.25", "currency": "CNY", "pin": PIN},
                headers={**bearer(token), "Idempotency-Key": uuid.uuid4().hex},
            )

        # 24 transfers at once over 3 server connections, then a replay of one of them.
        sent = await asyncio.gather(*(send(n) for n in range(24)))
        assert [r.status_code for r in sent] == [201] * 24, [r.text for r in sent]
        for _, token, _ in people:  # each sent 6 and received 6 of 1.25: back to 100.00
            wallet = (await client.get("/api/v1/wallet", headers=bearer(token))).json()
            assert wallet["balances"][0]["available"]["amount"] == "100.00"
        assert await deliver(pooled_app) > 0  # the worker's batches through the pooler too
        phone, _, _ = people[0]
        assert sum("1.25" in m for m in sms_messages(pooled_app, e164(phone))) == 12

    # LISTEN is on a direct connection: a NOTIFY sent through PgBouncer reaches it.
    hub = pooled_app.state.chat_hub
    assert hub.listening
    assert pooled_app.state.db.direct_url == fresh_db_url
    conn = await asyncpg.connect(asyncpg_dsn(fresh_db_url))
    try:
        await check_invariants(conn)
    finally:
        await conn.close()
