"""Per client address limits at the edge, before the database (issue 13, "Abuse limits"): a flood
of sign-ins, sign-up codes, tickets or searches from one address is refused with
429 request.rate_limited and Retry-After, without a database connection; other addresses and
other kinds of request are served; the bucket refills with time."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from qianbao.kernel.clock import TestClock
from tests.support.identity import bearer, new_phone, sign_up

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def _client(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_a_flood_of_sign_ins_from_one_address_is_refused_before_the_database(
    fresh_app: FastAPI, clock: TestClock
):
    clock.freeze(clock.now())
    fresh_app.state.settings.throttle.sign_in_per_minute = 5
    async with _client(fresh_app, "198.51.100.7") as attacker:
        phone, _ = await sign_up(attacker, fresh_app)
        body = {"phone": phone, "password": "not the password at all"}
        answers = [
            (await attacker.post("/api/v1/auth/login", json=body, headers=EN)) for _ in range(8)
        ]
        assert [r.status_code for r in answers] == [401] * 5 + [429] * 3
        refused = answers[-1]
        assert refused.json()["code"] == "request.rate_limited"
        assert refused.headers["Retry-After"] == "12" == str(refused.json()["retry_after_s"])
        assert "Too many requests" in refused.json()["title"]
        r = await attacker.post("/api/v1/auth/login", json=body, headers=ZH)
        assert "请求过于频繁" in r.json()["title"]
        # Refused at the edge: only the five that got through counted toward the account.
        pool = fresh_app.state.db.engine.pool
        checked_out = pool.checkedout()
        await attacker.post("/api/v1/auth/login", json=body)
        assert pool.checkedout() == checked_out
        # The page form is the same rule (and answers in the page's language).
        page = await attacker.post("/login", data=body, headers=ZH)
        assert page.status_code == 429

    # Another address is served; so are other requests from the flooding one.
    async with _client(fresh_app, "198.51.100.8") as neighbour:
        r = await neighbour.post(
            "/api/v1/auth/login", json={"phone": phone, "password": "not the password at all"}
        )
        assert r.status_code == 401
    async with _client(fresh_app, "198.51.100.7") as attacker:
        assert (await attacker.get("/healthz")).status_code == 200
        # A minute later the bucket is full again.
        clock.advance(seconds=60)
        r = await attacker.post(
            "/api/v1/auth/login", json={"phone": phone, "password": "not the password at all"}
        )
        assert r.status_code == 401


async def test_codes_tickets_and_search_have_their_own_limits(fresh_app: FastAPI, clock: TestClock):
    clock.freeze(clock.now())
    cfg = fresh_app.state.settings.throttle
    cfg.codes_per_minute, cfg.tickets_per_minute, cfg.search_per_minute = 3, 2, 4
    async with _client(fresh_app, "192.0.2.10") as c:
        codes = [
            (await c.post("/api/v1/auth/signup/code", json={"phone": new_phone()})).status_code
            for _ in range(4)
        ]
        assert codes == [202, 202, 202, 429]
        searches = [
            (await c.get("/api/v1/help/search", params={"q": "top up"})).status_code
            for _ in range(5)
        ]
        assert searches == [200] * 4 + [429]
    async with _client(fresh_app, "192.0.2.11") as c:
        _, token = await sign_up(c, fresh_app)
        tickets = [
            (
                await c.post(
                    "/api/v1/support/tickets",
                    json={
                        "category": "other",
                        "subject": f"Question {n}",
                        "body": "How do I change my name?",
                    },
                    headers=bearer(token),
                )
            ).status_code
            for n in range(3)
        ]
        assert tickets == [201, 201, 429]
    cfg.chat_per_minute = 2
    async with _client(fresh_app, "192.0.2.12") as c:
        chat = [
            (await c.post("/api/v1/chat/messages", json={"body": "hello"})).status_code
            for _ in range(3)
        ]
        assert chat[:2] != [429, 429] and chat[2] == 429  # counted before anything else
    # 0 turns a rule off.
    cfg.tickets_per_minute = 0
    async with _client(fresh_app, "192.0.2.11") as c:
        r = await c.post(
            "/api/v1/support/tickets",
            json={"category": "other", "subject": "Again", "body": "Still there?"},
            headers=bearer(token),
        )
        assert r.status_code == 201, r.text
