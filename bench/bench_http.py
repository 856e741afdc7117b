"""HTTP-level benchmark (issue #5): authenticated P2P transfers, PIN included, through the real
server (`qianbao serve`, its own process, in-process worker) with concurrent clients.

Prints `http_transfer_tps` (closed loop, 32 clients) and `http_transfer_p50_ms` /
`http_transfer_p99_ms` measured at half that rate (open loop), next to the same-run pgbench."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.common import BenchContext, emit, percentile
from qianbao.ops.migrate import upgrade

USERS = 200
CLIENTS = 32
PIN = "583920"
PASSWORD = "benchmark passphrase 2026"
SECRETS = {
    "secret_key": "bench-secret-key-0123456789abcdef",
    "pin_pepper": "bench-pin-pepper-0123456789abcdef",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(url: str) -> list[str]:
    """USERS users with a PIN and 1,000,000.00 CNY each, created through the services."""
    from qianbao.identity.context import IdentityContext
    from qianbao.identity.models import User
    from qianbao.identity.passwords import hash_password
    from qianbao.identity.pin import set_pin
    from qianbao.kernel.db import Database
    from qianbao.ledger import Ledger, transfer
    from qianbao.ledger.accounts import system_account_id
    from qianbao.settings import Settings
    from qianbao.wallet.accounts import wallet_account

    settings = Settings(
        environment="test",
        var_dir=Path(tempfile.mkdtemp()),
        security={"secret_key": SECRETS["secret_key"]},
        identity={"pin_pepper": SECRETS["pin_pepper"]},
    )
    db = Database(url)
    ctx = IdentityContext(settings=settings, db=db)
    phones = [f"+86137{i:08d}" for i in range(USERS)]
    password_hash = await hash_password(PASSWORD)
    try:
        async with db.transaction() as s:
            ledger = await Ledger.of_session(s)
            source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
            for phone in phones:
                user = User(phone=phone, password_hash=password_hash, real_name="测试")
                s.add(user)
                await s.flush()
                await set_pin(s, ctx, user, PIN)
                account = await wallet_account(s, user.id, "CNY")
                await ledger.post(
                    transfer(
                        f"bench-fund-{phone}",
                        debit_account_id=source,
                        credit_account_id=account.id,
                        amount=100_000_000,
                        currency="CNY",
                    )
                )
    finally:
        await db.dispose()
    return phones


async def _tokens(base: str, phones: list[str]) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        sem = asyncio.Semaphore(4)

        async def login(phone: str) -> str:
            async with sem:
                r = await client.post(
                    "/api/v1/auth/login", json={"phone": phone, "password": PASSWORD}
                )
                r.raise_for_status()
                return str(r.json()["token"])

        return list(await asyncio.gather(*(login(p) for p in phones)))


async def _transfer(client: httpx.AsyncClient, token: str, to: str) -> float:
    t0 = time.perf_counter()
    r = await client.post(
        "/api/v1/wallet/transfers",
        json={"to": to, "amount": "0.01", "currency": "CNY", "pin": PIN},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
    )
    if r.status_code != 201:
        raise RuntimeError(f"transfer failed: {r.status_code} {r.text[:200]}")
    return time.perf_counter() - t0


async def _closed_loop(base: str, tokens: list[str], phones: list[str], seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def worker(n: int) -> None:
            nonlocal done
            rng = random.Random(n)
            while time.perf_counter() < deadline:
                sender = rng.randrange(len(tokens))
                receiver = (sender + 1 + rng.randrange(len(phones) - 1)) % len(phones)
                await _transfer(client, tokens[sender], phones[receiver])
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
        return done / (time.perf_counter() - t0)


async def _open_loop(
    base: str, tokens: list[str], phones: list[str], rate: float, seconds: float
) -> list[float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        rng = random.Random(7)
        tasks = []
        t0 = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            at = t0 + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sender = rng.randrange(len(tokens))
            receiver = (sender + 1 + rng.randrange(len(phones) - 1)) % len(phones)
            tasks.append(asyncio.create_task(_transfer(client, tokens[sender], phones[receiver])))
        latencies = list(await asyncio.gather(*tasks))
    return sorted(latencies)


def run(ctx: BenchContext) -> None:
    ctx.pg.ensure_database("bench_http")
    url = ctx.pg.url("bench_http")
    upgrade(url)
    phones = asyncio.run(_seed(url))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    var = Path(tempfile.mkdtemp(prefix="qianbao-bench-http-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QIANBAO_")},
        "QIANBAO_DATABASE__URL": url,
        "QIANBAO_VAR_DIR": str(var),
        "QIANBAO_LOGGING__LEVEL": "WARNING",
        "QIANBAO_SMS__OUTBOX_PATH": str(var / "sms.jsonl"),
        "QIANBAO_SMS__CONSOLE_ECHO": "false",
        "QIANBAO_DATABASE__POOL_SIZE": "20",
        "QIANBAO_SECURITY__SECRET_KEY": SECRETS["secret_key"],
        "QIANBAO_IDENTITY__PIN_PEPPER": SECRETS["pin_pepper"],
        "QIANBAO_DATABASE__MAX_OVERFLOW": "20",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "qianbao.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        tokens = asyncio.run(_tokens(base, phones))
        tps = asyncio.run(_closed_loop(base, tokens, phones, ctx.seconds))
        emit("http_transfer_tps", tps, "tps")
        latencies = asyncio.run(_open_loop(base, tokens, phones, tps / 2, ctx.seconds))
        emit("http_transfer_p50_ms", percentile(latencies, 50) * 1000, "ms")
        emit("http_transfer_p99_ms", percentile(latencies, 99) * 1000, "ms")
        print(
            f"# ratio: http_transfer_tps/pgbench={tps / ctx.baseline_tps:.2f} (target 0.5); "
            f"p99 at half load {percentile(latencies, 99) * 1000:.1f} ms (target < 100)",
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
