"""Page speed (issue #16): how long the server takes for each main customer page, and how many
bytes a first visit transfers (the HTML plus the style sheets and scripts it loads, as sent:
static files gzip-compressed).

A customer with 500 transactions over six months (their history page groups them by month and
sums each month) on the `qianbao serve` server, 60 sequential requests per page after a warm-up,
from the same machine. Prints for each page `BENCH page_<name>_ms` (median) and
`BENCH page_<name>_p95_ms`, `BENCH page_<name>_kb`, and `BENCH help_search_ms` for a help center
search (target: under 100 ms; `help_search_first_ms`: the first one, 3 s after the start). `page_healthz_ms` is the floor: the same loop on /healthz.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

from bench.bench_http import PASSWORD, PIN, _free_port, _server, _settings, stop, wait_ready
from bench.common import BenchContext, emit
from qianbao.ops.migrate import upgrade

ROWS = 500
REQUESTS = 60
PHONE = "+8613655500001"
PAGES = [
    ("healthz", "/healthz"),
    ("landing", "/"),
    ("wallet", "/wallet"),
    ("history", "/wallet/history"),
    ("history_filtered", "/wallet/history?direction=out&min_amount=10"),
    ("transfer", "/wallet/transfer"),
    ("security", "/security"),
    ("me", "/me"),
    ("help", "/help"),
]
SEARCHES = ["提现多久到账", "how do I top up", "收不到短信验证码", "tixian", "有人自称客服让我转账"]
ASSET = re.compile(r'(?:href|src)="(/static/[^"?]+)')


async def _seed(url: str) -> None:
    """The customer, their balance, and ROWS history rows over six months (written directly:
    the page reads the rows, how they were made does not matter here)."""
    from qianbao.identity.context import IdentityContext
    from qianbao.identity.models import User
    from qianbao.identity.passwords import hash_password
    from qianbao.identity.pin import set_pin
    from qianbao.kernel.clock import LOCAL_TZ
    from qianbao.kernel.db import Database
    from qianbao.ledger import Ledger, transfer
    from qianbao.ledger.accounts import system_account_id
    from qianbao.wallet.accounts import wallet_account
    from qianbao.wallet.models import WalletTransaction

    db = Database(url)
    ctx = IdentityContext(settings=_settings(), db=db)
    try:
        async with db.transaction() as s:
            user = User(phone=PHONE, password_hash=await hash_password(PASSWORD), real_name="测试")
            s.add(user)
            await s.flush()
            await set_pin(s, ctx, user, PIN)
            account = await wallet_account(s, user.id, "CNY")
            ledger = await Ledger.of_session(s)
            source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
            await ledger.post(
                transfer(
                    "bench-pages-fund",
                    debit_account_id=source,
                    credit_account_id=account.id,
                    amount=10_000_000,
                    currency="CNY",
                )
            )
            start = ctx.clock.now().astimezone(LOCAL_TZ) - timedelta(days=180)
            for i in range(ROWS):
                at = start + timedelta(hours=i * 180 * 24 / ROWS)
                s.add(
                    WalletTransaction(
                        user_id=user.id,
                        account_id=account.id,
                        kind="transfer",
                        direction="out" if i % 3 else "in",
                        currency="CNY",
                        amount=100 + (i * 37) % 20_000,
                        balance_after=10_000_000,
                        counterparty_name="Li M.",
                        counterparty_phone="+86 139****9000",
                        note="午饭" if i % 5 == 0 else None,
                        reference=f"{at:%Y%m%d}{uuid.uuid4().int % 10**10:010d}",
                        created_at=at,
                        listed_at=at,
                    )
                )
    finally:
        await db.dispose()


def _timed(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[list[float], bytes]:
    for _ in range(5):  # warm-up: caches, the first template compile
        client.get(path, headers=headers)
    times = []
    body = b""
    for _ in range(REQUESTS):
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"bench_pages: {path} answered {r.status_code}")
        body = r.content
    return times, body


def _asset_bytes(client: httpx.Client, html: bytes, seen: dict[str, int]) -> int:
    """What the page's style sheets and scripts cost as transferred (compressed if served so)."""
    total = 0
    for path in sorted(set(ASSET.findall(html.decode("utf-8", "replace")))):
        if path not in seen:
            r = client.get(path, headers={"Accept-Encoding": "gzip"})
            raw = r.content
            if r.headers.get("content-encoding") == "gzip":
                seen[path] = len(gzip.compress(raw))  # httpx decoded it: measure it packed
            else:
                seen[path] = len(raw)
        total += seen[path]
    return total


def run(ctx: BenchContext) -> None:
    ctx.pg.ensure_database("bench_pages")
    url = ctx.pg.url("bench_pages")
    upgrade(url)
    asyncio.run(_seed(url))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    var = Path(tempfile.mkdtemp(prefix="qianbao-bench-pages-"))
    # One address asking hundreds of searches a minute: not what the search throttle is for.
    procs = _server(url, port, var, extra_env={"QIANBAO_THROTTLE__SEARCH_PER_MINUTE": "100000"})
    try:
        wait_ready([base], procs, "bench_pages")
        with httpx.Client(base_url=base, timeout=30) as client:
            # The first search after a start (the word splitter's dictionary is loaded at
            # start-up, in the background, not by the first customer who searches).
            time.sleep(3)
            t0 = time.perf_counter()
            client.get("/help/search", params={"q": "提现多久到账"}).raise_for_status()
            emit("help_search_first_ms", (time.perf_counter() - t0) * 1000, "ms")
            r = client.post("/api/v1/auth/login", json={"phone": PHONE, "password": PASSWORD})
            r.raise_for_status()
            signed_in = {
                "Authorization": f"Bearer {r.json()['token']}",
                "Accept-Language": "zh-CN",
            }
            seen: dict[str, int] = {}
            for name, path in PAGES:
                times, html = _timed(client, path, signed_in)
                emit(f"page_{name}_ms", statistics.median(times) * 1000, "ms")
                emit(f"page_{name}_p95_ms", _p95(times) * 1000, "ms")
                if name != "healthz":
                    kb = (len(html) + _asset_bytes(client, html, seen)) / 1024
                    emit(f"page_{name}_kb", kb, "KiB")
            searches: list[float] = []
            for q in SEARCHES:
                times, _ = _timed(client, "/help/search?" + httpx.QueryParams(q=q).__str__(), {})
                searches += times
            emit("help_search_ms", statistics.median(searches) * 1000, "ms")
            emit("help_search_p95_ms", _p95(searches) * 1000, "ms")
            print(
                f"# help search: median {statistics.median(searches) * 1000:.1f} ms "
                "(target < 100 ms)",
                flush=True,
            )
    finally:
        stop(procs)
        shutil.rmtree(var, ignore_errors=True)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
