"""The hot-merchant part of `bench_http` (issue 14): many customers paying ONE merchant through
the real server. The merchant creates checkout sessions with its API key (timed on its own:
`http_checkout_create_tps`), then the customers pay them with their PIN in a closed loop
(`http_checkout_pay_tps`), compared with `http_transfer_tps` of the same run and server.

Every payment credits the same merchant account and the same fee-revenue account: the ledger's
hot accounts, which must not turn the payments into a queue."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator

from bench.rawhttp import Connection

API_KEY = "qb_sk_bench_hot_merchant_0123456789abcdefghijkl"


async def seed_merchant(url: str, settings: object) -> None:
    """One active merchant with an API key (through the services)."""
    from qianbao.identity.context import IdentityContext
    from qianbao.kernel.db import Database
    from qianbao.merchants import keys, onboarding
    from qianbao.merchants.models import ApiKey

    db = Database(url)
    ctx = IdentityContext(settings=settings, db=db)
    try:
        async with db.transaction() as s:
            merchant = await onboarding.create(
                s,
                ctx,
                onboarding.Application(
                    name_zh="热门商户",
                    name_en="Hot Merchant",
                    category="5814",
                    uscc="91310115MA1K3YJ81L",
                    settlement_number="DE89370400440532013000",
                    settlement_holder="Hot Merchant Ltd",
                ),
                status="active",
            )
            s.add(
                ApiKey(
                    merchant_id=merchant.id,
                    name="bench",
                    prefix=API_KEY[: keys.VISIBLE],
                    secret_hash=ctx.keyed_hash(keys.HASH_PURPOSE, API_KEY),
                    scopes=["payments", "read", "refunds"],
                )
            )
    finally:
        await db.dispose()


class Checkouts:
    def __init__(self, tokens: list[str], pin: str) -> None:
        self.auth = [f"Bearer {t}" for t in tokens]
        self.pay_body = json.dumps({"pin": pin}).encode()
        self.sessions: list[str] = []
        self.todo: Iterator[tuple[int, str]] | None = None
        self.ok = 0
        self.refused: Counter[str] = Counter()

    def _refuse(self, status: int, body: bytes) -> None:
        try:
            code = str(json.loads(body).get("code"))
        except ValueError:
            code = body[:80].decode(errors="replace")
        self.refused[f"{status} {code}"] += 1

    async def create(self, conn: Connection) -> None:
        order = uuid.uuid4().hex
        body = json.dumps({"amount": "0.10", "currency": "CNY", "order_reference": order}).encode()
        r = await conn.request(
            "POST",
            "/api/v1/merchant/checkout-sessions",
            body,
            {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": order},
        )
        if r.status == 201:
            self.sessions.append(json.loads(r.body)["id"])
        else:
            self._refuse(r.status, r.body)

    async def pay(self, conn: Connection, session_id: str, payer: int) -> None:
        r = await conn.request(
            "POST",
            f"/api/v1/pay/checkout-sessions/{session_id}/pay",
            self.pay_body,
            {"Authorization": self.auth[payer % len(self.auth)]},
        )
        if r.status == 200:
            self.ok += 1
        else:
            self._refuse(r.status, r.body)


async def create_sessions(host: str, port: int, load: Checkouts, count: int, clients: int) -> float:
    """Create ``count`` sessions; returns the rate (sessions per second)."""
    conns = [Connection(host, port) for _ in range(clients)]
    left = iter(range(count))

    async def worker(conn: Connection) -> None:
        for _ in left:
            await load.create(conn)

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            c.close()
    return len(load.sessions) / (time.perf_counter() - t0)


async def pay_sessions(
    host: str, port: int, load: Checkouts, seconds: float, clients: int
) -> float:
    """Customers pay the sessions in a closed loop for ``seconds``; returns payments per second."""
    deadline = time.perf_counter() + seconds
    if load.todo is None:  # the sessions not paid yet, across rounds
        load.todo = iter(list(enumerate(load.sessions)))
    todo = load.todo
    ok_before = load.ok
    conns = [Connection(host, port) for _ in range(clients)]

    async def worker(conn: Connection) -> None:
        for i, session_id in todo:
            if time.perf_counter() >= deadline:
                return
            await load.pay(conn, session_id, i)

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            c.close()
    return (load.ok - ok_before) / (time.perf_counter() - t0)
