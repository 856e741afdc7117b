"""Admission control (issue 13, "Overload behaviour"): past max_in_flight requests at once, one
more waits admission_wait_ms for a place, then is answered 503 service.unavailable with
Retry-After at once — while health checks and static files still pass; a place freed is used."""

from __future__ import annotations

import asyncio

import httpx
from starlette.responses import PlainTextResponse

from qianbao.web.admission import AdmissionMiddleware, Gate
from qianbao.web.errors import respond_busy


async def test_the_excess_is_refused_at_once_and_health_checks_pass():
    release = asyncio.Event()
    entered = 0

    async def slow_app(scope, receive, send):
        nonlocal entered
        entered += 1
        if scope["path"].startswith("/slow"):
            await release.wait()
        await PlainTextResponse("ok")(scope, receive, send)

    gate = Gate(max_in_flight=2, wait_ms=0)
    app = AdmissionMiddleware(slow_app, gate=gate, refuse=respond_busy)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        busy = [asyncio.create_task(client.get(f"/slow/{n}")) for n in range(2)]
        while gate.in_flight < 2:  # noqa: ASYNC110 (the middleware's own counter)
            await asyncio.sleep(0)
        refused = await client.get("/api/v1/wallet", headers={"Accept-Language": "en"})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        body = refused.json()
        assert body["code"] == "service.unavailable" and body["retry_after_s"] == 1
        assert gate.shed == 1
        assert (await client.get("/healthz")).status_code == 200  # never held back
        release.set()
        assert [r.status_code for r in await asyncio.gather(*busy)] == [200, 200]
        assert gate.in_flight == 0
        assert (await client.get("/api/v1/wallet")).status_code == 200  # served again


async def test_a_request_waits_for_a_place_that_frees_within_the_wait():
    door = asyncio.Event()

    async def app_(scope, receive, send):
        if scope["path"] == "/first":
            await door.wait()
        await PlainTextResponse("ok")(scope, receive, send)

    gate = Gate(max_in_flight=1, wait_ms=60_000)
    app = AdmissionMiddleware(app_, gate=gate, refuse=respond_busy)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        first = asyncio.create_task(client.get("/first"))
        while gate.in_flight < 1:  # noqa: ASYNC110 (the middleware's own counter)
            await asyncio.sleep(0)
        second = asyncio.create_task(client.get("/second"))
        await asyncio.sleep(0.01)
        assert not second.done()  # waiting for the place, not refused
        door.set()
        assert (await first).status_code == 200 and (await second).status_code == 200
        assert gate.shed == 0
