"""The live chat on a real database: the bot answers with help articles, masking, escaping,
identity from the session (never from the payload), another customer's conversation refused,
images checked, "talk to a person" by round-robin within capacity, outside business hours to
the queue, agents without two-step verification refused — and the fan-out between two server
processes over PostgreSQL NOTIFY, with WebSockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from qianbao.identity import sessions
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ, TestClock
from qianbao.kernel.db import Database
from qianbao.main import create_app
from qianbao.settings import Settings
from qianbao.support.chat.models import ChatAttachment, ChatConversation, ChatMessage
from qianbao.support.tickets.models import Ticket
from tests.conftest import base_settings
from tests.support.identity import new_phone
from tests.support.secrets import remember

OPEN_ALL_DAY = {"opens_at": 0, "closes_at": 24}


def png(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def make_user(
    app: FastAPI,
    *,
    role: str = "user",
    two_factor: bool = True,
    name: str | None = "李雷",
    kind: str = "web",
) -> tuple[User, str]:
    """A user (customer or staff) with a session token of ``kind``."""
    return await user_in(
        app.state.db, app.state.identity, role=role, two_factor=two_factor, name=name, kind=kind
    )


async def user_in(
    db: Any, ctx: Any, *, role: str, two_factor: bool, name: str | None, kind: str
) -> tuple[User, str]:
    async with db.transaction() as s:
        user = User(phone="+86" + new_phone(), password_hash="x", role=role, real_name=name)
        if two_factor and role != "user":
            user.totp_enabled_at = ctx.clock.now()
        s.add(user)
        await s.flush()
        new = await sessions.start(
            s, ctx, user, kind=kind, ip=None, user_agent=None, device_token=None
        )
    remember(new.token)
    return user, new.token


class Browser:
    """An httpx client with cookies, the page's CSRF token and the chat API."""

    def __init__(self, app: FastAPI, token: str | None = None, locale: str = "en") -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.http = httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers={"Accept-Language": locale}
        )
        if token:
            self.http.cookies.set(app.state.settings.security.session_cookie, token)
        self.csrf = ""

    async def open(self) -> httpx.Response:
        page = await self.http.get("/chat")
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found, page.text[:300]
        self.csrf = found.group(1)
        return page

    async def say(self, text: str, **extra: Any) -> httpx.Response:
        return await self.http.post(
            "/api/v1/chat/messages",
            json={"text": text, **extra},
            headers={"X-CSRF-Token": self.csrf},
        )

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.post(path, headers={"X-CSRF-Token": self.csrf}, **kw)

    async def close(self) -> None:
        await self.http.aclose()


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        chat=OPEN_ALL_DAY,
    )


@pytest.fixture
async def browsers(app: FastAPI) -> AsyncIterator[list[Browser]]:
    made: list[Browser] = []
    yield made
    for b in made:
        await b.close()


def browser(app: FastAPI, made: list[Browser], token: str | None = None) -> Browser:
    b = Browser(app, token)
    made.append(b)
    return b


async def count(app: FastAPI, model: Any) -> int:
    async with app.state.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_bot_answers_with_help_articles(app: FastAPI, browsers: list[Browser]):
    visitor = browser(app, browsers)
    page = await visitor.open()
    assert page.status_code == 200 and "qb_chat_visitor" in page.headers["set-cookie"]
    r = await visitor.say("how do I recharg my wallet")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["conversation"]["status"] == "bot" and body["conversation"]["verified"] is False
    customer, bot = body["messages"]
    assert customer["sender"] == "customer" and customer["text"] == "how do I recharg my wallet"
    assert bot["sender"] == "bot" and bot["handoff"] is True
    # The best article's steps inline (tests/integration/test_chat_bot.py has the rest).
    assert bot["text"] == "Here is what our help center says:"
    answer = bot["bot"]["article"]
    assert answer["title"] == "How to top up your wallet" and answer["url"] == "/help/how-to-top-up"
    assert answer["steps"] and len(bot["bot"]["related"]) <= 2
    # The same visitor (cookie) keeps the same conversation; the page shows the articles.
    r = await visitor.say("xyzzy qwertyuiop")
    assert r.json()["conversation"]["id"] == body["conversation"]["id"]
    assert r.json()["messages"][1]["bot"]["kind"] == "none"
    page = await visitor.http.get("/chat")
    assert 'href="/help/how-to-top-up"' in page.text


async def test_codes_pins_and_cards_are_masked_before_storing(
    app: FastAPI, browsers: list[Browser]
):
    visitor = browser(app, browsers)
    await visitor.open()
    r = await visitor.say("验证码 123456, PIN 2580, card 4111 1111 1111 1111")
    assert r.status_code == 201
    customer, warning, _bot = r.json()["messages"]
    assert customer["text"] == "验证码 ******, PIN ****, card **** **** **** 1111"
    assert customer["masked"] is True
    assert (
        warning["sender"] == "system" and "Qianbao staff will never ask for them" in warning["text"]
    )
    async with app.state.db.session() as s:
        bodies = (await s.execute(select(ChatMessage.body))).scalars().all()
    assert not any("123456" in b or "2580" in b or "4111 1111" in b for b in bodies)


async def test_control_characters_are_cleaned_out_not_a_server_error(
    app: FastAPI, browsers: list[Browser]
):
    """A NUL (PostgreSQL stores none) or another control character in a message is removed
    before it is stored; the message itself goes through (issue 13, defect 11)."""
    visitor = browser(app, browsers)
    await visitor.open()
    r = await visitor.say("my top-up\u0000 failed\u001b twice")
    assert r.status_code == 201, r.text
    assert r.json()["messages"][0]["text"] == "my top-up failed twice"
    r = await visitor.say("\u0000\u0001")
    assert r.status_code == 422 and r.json()["code"] == "chat.message_invalid", r.text


async def test_a_flood_of_messages_is_refused_and_nothing_stored(
    app: FastAPI, browsers: list[Browser]
):
    app.state.settings.chat.max_messages_per_minute = 3
    c = browser(app, browsers)
    await c.open()
    first = await c.say("one")
    conv = first.json()["conversation"]["id"]
    for text in ("two", "three"):
        assert (await c.say(text, conversation_id=conv)).status_code in (200, 201)
    before = await count(app, ChatMessage)
    r = await c.say("four", conversation_id=conv)
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "chat.too_fast" and "very fast" in r.json()["title"]
    r = await c.post(f"/api/v1/chat/images?conversation_id={conv}",
                     files={"file": ("a.png", png(), "image/png")})  # fmt: skip
    assert r.status_code == 429
    assert await count(app, ChatMessage) == before


async def test_a_visitor_downloads_their_transcript_and_nobody_else_can(
    app: FastAPI, browsers: list[Browser]
):
    _, agent_h = await agent_online(app, 3, "Agent Tan")
    v = browser(app, browsers)
    await v.open()
    conv = (await v.say("where is my top-up? <script>x</script>")).json()["conversation"]["id"]
    assert (await v.post(f"/api/v1/chat/conversations/{conv}/handoff")).status_code == 200
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as agent:
        r = await agent.post(f"/api/v1/chat/agent/conversations/{conv}/close", headers=agent_h)
        assert r.status_code == 200
    page = await v.http.get("/chat")
    assert f'href="/chat/transcript.txt?c={conv}"' in page.text
    r = await v.http.get(f"/chat/transcript.txt?c={conv}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "attachment" in r.headers["content-disposition"]
    assert "where is my top-up? <script>x</script>" in r.text and "Agent Tan" in r.text
    # Another visitor, a signed-in customer, no cookie at all, a bad id: not found.
    other = browser(app, browsers)
    await other.open()
    _, token = await make_user(app)
    member = browser(app, browsers, token)
    bare = browser(app, browsers)
    for who in (other, member, bare):
        assert (await who.http.get(f"/chat/transcript.txt?c={conv}")).status_code == 404
    assert (await v.http.get("/chat/transcript.txt?c=nope")).status_code == 404


async def test_html_in_messages_is_escaped(app: FastAPI, browsers: list[Browser]):
    visitor = browser(app, browsers)
    await visitor.open()
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = await visitor.say(evil)
    assert r.json()["messages"][0]["text"] == evil  # JSON carries text; the page escapes it
    page = await visitor.http.get("/chat")
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


async def test_identity_comes_from_the_session_not_the_payload(
    app: FastAPI, browsers: list[Browser]
):
    alice, alice_token = await make_user(app)
    mallory, mallory_token = await make_user(app, name="Mallory")
    me = browser(app, browsers, mallory_token)
    await me.open()
    r = await me.say("hello", user_id=str(alice.id), verified=False, sender="agent")
    assert r.status_code == 201
    assert r.json()["conversation"]["verified"] is True
    async with app.state.db.session() as s:
        conv = (await s.execute(select(ChatConversation))).scalar_one()
    assert conv.user_id == mallory.id and conv.verified is True
    assert r.json()["messages"][0]["sender"] == "customer"
    # A bearer token (apps) identifies the customer the same way.
    r = await me.http.get(
        "/api/v1/chat/conversation", headers={"Authorization": f"Bearer {alice_token}"}
    )
    assert r.json() == {"conversation": None, "messages": []}


async def test_another_customers_conversation_is_refused(app: FastAPI, browsers: list[Browser]):
    _, a_token = await make_user(app)
    _, b_token = await make_user(app)
    a, b = browser(app, browsers, a_token), browser(app, browsers, b_token)
    await a.open()
    await b.open()
    conv_id = (await a.say("my withdrawal is late")).json()["conversation"]["id"]
    stored = await count(app, ChatMessage)
    for r in (
        await b.http.get(f"/api/v1/chat/conversations/{conv_id}/messages"),
        await b.say("let me in", conversation_id=conv_id),
        await b.post(f"/api/v1/chat/conversations/{conv_id}/handoff"),
        await b.post(f"/api/v1/chat/conversations/{conv_id}/read", json={"upto": 99}),
    ):
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "chat.conversation_not_found"
    visitor = browser(app, browsers)
    await visitor.open()
    r = await visitor.http.get(f"/api/v1/chat/conversations/{conv_id}/messages")
    assert r.status_code == 404
    assert await count(app, ChatMessage) == stored
    # Without the page's CSRF token a browser cannot write.
    r = await a.http.post("/api/v1/chat/messages", json={"text": "hi"})
    assert r.status_code == 403
    assert await count(app, ChatMessage) == stored


async def test_images_are_checked_by_content_and_size(app: FastAPI, browsers: list[Browser]):
    visitor = browser(app, browsers)
    await visitor.open()
    limit = app.state.settings.chat.max_image_bytes
    refused = [
        ("a.png", b"GIF89a" + b"\x00" * 100, "image/png"),  # a GIF named .png
        ("b.png", b"<svg onload=alert(1)>", "image/png"),
        ("c.png", png() + b"\x00" * limit, "image/png"),  # too large
        ("d.png", b"", "image/png"),
    ]
    for name, data, kind in refused:
        r = await visitor.post("/api/v1/chat/images", files={"file": (name, data, kind)})
        assert r.status_code in (413, 422), (name, r.text)
    assert await count(app, ChatAttachment) == 0
    assert await count(app, ChatConversation) == 0  # nothing half-stored
    r = await visitor.post("/api/v1/chat/images", files={"file": ("shot.bin", png(), "x/y")})
    assert r.status_code == 201, r.text
    msg = r.json()["messages"][0]
    image = await visitor.http.get(msg["image"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == png()
    stranger = browser(app, browsers)
    await stranger.open()
    assert (await stranger.http.get(msg["image"])).status_code == 404


async def agent_online(app: FastAPI, capacity: int, name: str) -> tuple[User, dict[str, str]]:
    agent, token = await make_user(app, role="support_agent", name=name, kind="api")
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.put(
            "/api/v1/chat/agent/presence",
            json={"online": True, "capacity": capacity},
            headers=headers,
        )
        assert r.status_code == 200, r.text
    return agent, headers


async def test_handoff_round_robin_within_capacity(app: FastAPI, browsers: list[Browser]):
    _, wu_h = await agent_online(app, 1, "Agent Wu")
    _, chen_h = await agent_online(app, 1, "Agent Chen")
    customers = []
    users = []
    for i in range(3):
        user, token = await make_user(app, name=f"Customer {i}")
        users.append(user)
        c = browser(app, browsers, token)
        await c.open()
        conv = (await c.say("I need help with a payment")).json()["conversation"]["id"]
        customers.append((c, conv))
    assigned = []
    for c, conv in customers[:2]:
        r = await c.post(f"/api/v1/chat/conversations/{conv}/handoff")
        assert r.status_code == 200, r.text
        state = r.json()["conversation"]
        assert state["status"] == "assigned"
        assigned.append(state["agent"]["name"])
        last = r.json()["messages"][-1]
        assert last["sender"] == "system" and last["text"].startswith("You are now chatting with")
        assert state["agent"]["agent_id"] in last["text"]
    assert sorted(assigned) == ["Agent Chen", "Agent Wu"]  # one each: round-robin
    # /verify's "who from Qianbao is talking to me" now names the agent (D6).
    from qianbao.support.channels import service as channels

    async with app.state.db.transaction() as s:
        talking = await channels.active_agent_contacts(s, users[0].id)
        assert [t.name for t in talking] == [assigned[0]]
        assert await channels.active_agent_contacts(s, users[2].id) == []
    third, third_conv = customers[2]
    r = await third.post(f"/api/v1/chat/conversations/{third_conv}/handoff")
    assert r.json()["conversation"]["status"] == "queued"  # both at capacity
    assert "All our agents are busy" in r.json()["messages"][-1]["text"]
    # The agent who got the first customer answers, then closes: the queued one is theirs.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as agent:
        first_agent = wu_h if assigned[0] == "Agent Wu" else chen_h
        first_conv = customers[0][1]
        r = await agent.post(
            f"/api/v1/chat/agent/conversations/{first_conv}/messages",
            json={"text": "Hello, I am looking at it. <b>bold</b>"},
            headers=first_agent,
        )
        assert r.status_code == 201, r.text
        other = chen_h if first_agent is wu_h else wu_h
        r = await agent.get(
            f"/api/v1/chat/agent/conversations/{first_conv}/messages", headers=other
        )
        assert r.status_code == 404  # not theirs
        r = await agent.post(
            f"/api/v1/chat/agent/conversations/{first_conv}/close", headers=first_agent
        )
        assert r.status_code == 200
        r = await agent.get("/api/v1/chat/agent/conversations", headers=first_agent)
        assert [c["id"] for c in r.json()["conversations"]] == [third_conv]
    r = await customers[0][0].http.get(f"/api/v1/chat/conversations/{first_conv}/messages")
    texts = [m["text"] for m in r.json()["messages"]]
    assert "Hello, I am looking at it. <b>bold</b>" in texts
    agent_msg = next(m for m in r.json()["messages"] if m["sender"] == "agent")
    assert agent_msg["agent"]["name"] in ("Agent Wu", "Agent Chen")
    assert re.fullmatch(r"QB-\d{6}", agent_msg["agent"]["agent_id"])
    assert r.json()["conversation"]["status"] == "closed"
    from sqlalchemy import select

    from qianbao.support.console.models import AuditEntry

    async with app.state.db.transaction() as s:
        actions = set(
            (
                await s.execute(
                    select(AuditEntry.action).where(AuditEntry.object_id == str(first_conv))
                )
            ).scalars()
        )
    assert {"chat.replied", "chat.closed"} <= actions  # the console's audit log (E9)


async def test_outside_business_hours_a_ticket_or_the_queue_with_a_reply_time(
    app: FastAPI, browsers: list[Browser], clock: TestClock
):
    app.state.settings.chat.opens_at, app.state.settings.chat.closes_at = 8, 22
    clock.freeze(datetime(2026, 12, 2, 23, 0, tzinfo=LOCAL_TZ))  # a Wednesday, after hours
    await agent_online(app, 3, "Agent Night")
    # A signed-in customer: the chat becomes a ticket with what they wrote (masked).
    user, token = await make_user(app)
    c = browser(app, browsers, token)
    await c.open()
    conv = (await c.say("my card was charged twice, code 123456")).json()["conversation"]["id"]
    r = await c.post(f"/api/v1/chat/conversations/{conv}/handoff")
    assert r.status_code == 200, r.text
    state, last = r.json()["conversation"], r.json()["messages"][-1]
    assert state["status"] == "closed"
    found = re.search(r"ticket (T\d{8}-\d{6})\. Expect a reply by ", last["text"])
    assert found, last["text"]
    async with app.state.db.session() as s:
        ticket = (
            await s.execute(select(Ticket).where(Ticket.reference == found.group(1)))
        ).scalar_one()
        row = await s.get(ChatConversation, ticket_conv_id(conv))
    assert ticket.user_id == user.id and ticket.channel == "chat"
    assert row is not None and row.ticket_id == ticket.id
    # A visitor (nobody to answer a ticket to): the queue, and the time the desk opens.
    v = browser(app, browsers)
    await v.open()
    conv = (await v.say("my card was charged twice")).json()["conversation"]["id"]
    r = await v.post(f"/api/v1/chat/conversations/{conv}/handoff")
    state, last = r.json()["conversation"], r.json()["messages"][-1]
    assert state["status"] == "queued"
    tomorrow = "Dec 3, 2026"
    assert "Our chat desk is closed now (open 08:00–22:00, China time)" in last["text"]
    assert f"expect a reply by {tomorrow} 8:30" in last["text"], last["text"]


def ticket_conv_id(raw: str) -> Any:
    import uuid

    return uuid.UUID(raw)


async def test_in_hours_with_nobody_online_a_ticket(app: FastAPI, browsers: list[Browser]):
    _, token = await make_user(app)
    c = browser(app, browsers, token)
    await c.open()
    conv = (await c.say("I want to close my account")).json()["conversation"]["id"]
    r = await c.post(f"/api/v1/chat/conversations/{conv}/handoff")
    assert r.json()["conversation"]["status"] == "closed"
    assert "We turned this chat into ticket T" in r.json()["messages"][-1]["text"]
    # The customer starts again: a new conversation, with the bot first.
    r = await c.say("hello again")
    assert r.json()["conversation"]["id"] != conv
    assert r.json()["conversation"]["status"] == "bot"


async def test_agents_need_two_factor(app: FastAPI, client: httpx.AsyncClient):
    _, token = await make_user(app, role="support_agent", two_factor=False, kind="api")
    r = await client.put(
        "/api/v1/chat/agent/presence",
        json={"online": True, "capacity": 2},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403 and r.json()["code"] == "identity.staff_needs_two_factor"
    _, token = await make_user(app, kind="api")
    r = await client.put(
        "/api/v1/chat/agent/presence",
        json={"online": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403 and r.json()["code"] == "chat.agents_only"
    _, token = await make_user(app, role="support_agent", two_factor=False)
    client.cookies.set(app.state.settings.security.session_cookie, token)
    r = await client.get("/console/chat")
    assert r.status_code == 403


# -- two server processes sharing a conversation through NOTIFY ---------------------------------
@contextlib.asynccontextmanager
async def live(settings: Settings, url: str) -> AsyncIterator[Any]:
    from tests.web.browser import LiveServer

    server = LiveServer(create_app(settings, database_url_override=url, run_worker=False))
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def next_frame(ws: Any, kind: str, wait_s: float = 10) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame  # type: ignore[no-any-return]

    return await asyncio.wait_for(wait(), wait_s)


@pytest.fixture
def quiet_sockets() -> Any:
    """The WebSocket libraries log every handshake header (cookies) at DEBUG level."""
    import logging

    names = ("websockets", "websockets.client", "websockets.server", "uvicorn.error")
    levels = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.INFO)
    yield
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)


async def last_seen_ago(url: str, agent_id: Any, set_s: float | None = None) -> float:
    """Seconds since the agent was last seen (after setting it ``set_s`` seconds back)."""
    from sqlalchemy import text

    back = text(
        "UPDATE chat_agents SET last_seen_at = now() - make_interval(secs => :s) WHERE user_id = :id"
    )
    ago = text(
        "SELECT extract(epoch FROM now() - last_seen_at) FROM chat_agents WHERE user_id = :id"
    )
    db = Database(url)
    try:
        async with db.transaction() as s:
            if set_s is not None:
                await s.execute(back, {"s": set_s, "id": agent_id})
            return float((await s.execute(ago, {"id": agent_id})).scalar_one())
    finally:
        await db.dispose()


@pytest.mark.usefixtures("quiet_sockets")
async def test_two_processes_share_a_conversation(fresh_db_url: str):
    from websockets.asyncio.client import connect

    settings = base_settings(chat=OPEN_ALL_DAY)
    async with live(settings, fresh_db_url) as one, live(settings, fresh_db_url) as two:
        db = Database(fresh_db_url)
        ctx = IdentityContext(settings=settings, db=db)
        try:
            _, customer_token = await user_in(
                db, ctx, role="user", two_factor=False, name="Li", kind="web"
            )
            agent, agent_token = await user_in(
                db, ctx, role="support_agent", two_factor=True, name="Agent Fan", kind="web"
            )
        finally:
            await db.dispose()
        cookie = settings.security.session_cookie
        async with httpx.AsyncClient(base_url=one.url) as c:
            c.cookies.set(cookie, customer_token)
            page = await c.get("/chat")
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            r = await c.post(
                "/api/v1/chat/messages", json={"text": "hello"}, headers={"X-CSRF-Token": csrf}
            )
            conv = r.json()["conversation"]["id"]
        async with httpx.AsyncClient(base_url=two.url) as a:
            a.cookies.set(cookie, agent_token)
            page = await a.get("/console/chat")
            csrf_a = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            r = await a.post(
                "/console/chat/presence",
                data={"online": "1", "capacity": "2", "csrf_token": csrf_a},
            )
            assert r.status_code == 303, r.text
        # The customer is on process one, the agent on process two.
        ws_one = one.url.replace("http", "ws") + "/ws/chat"
        ws_two = two.url.replace("http", "ws") + f"/ws/console/chat?c={conv}"
        async with connect(
            ws_one,
            origin=one.url,
            additional_headers={"Cookie": f"{cookie}={customer_token}"},  # type: ignore[arg-type]
        ) as customer:
            await next_frame(customer, "conversation")
            await customer.send(json.dumps({"type": "handoff"}))
            state = await next_frame(customer, "conversation")
            while state["conversation"]["status"] != "assigned":
                state = await next_frame(customer, "conversation")
            assert state["conversation"]["agent"]["name"] == "Agent Fan"
            await last_seen_ago(fresh_db_url, agent.id, set_s=600)
            async with connect(
                ws_two,
                origin=two.url,
                additional_headers={"Cookie": f"{cookie}={agent_token}"},  # type: ignore[arg-type]
            ) as desk:
                await next_frame(desk, "conversation")
                # The open console is a heartbeat: the agent is seen again at once.
                for _ in range(50):
                    if await last_seen_ago(fresh_db_url, agent.id) < 30:
                        break
                    await asyncio.sleep(0.1)
                assert await last_seen_ago(fresh_db_url, agent.id) < 30
                await customer.send(json.dumps({"type": "typing"}))
                assert (await next_frame(desk, "typing"))["by"] == "customer"
                await customer.send(json.dumps({"type": "message", "text": "my PIN is 1234"}))
                frame = await next_frame(desk, "messages")
                texts = [m["text"] for m in frame["messages"]]
                while "my PIN is ****" not in texts:
                    frame = await next_frame(desk, "messages")
                    texts = [m["text"] for m in frame["messages"]]
                newest = max(m["id"] for m in frame["messages"])
                await desk.send(json.dumps({"type": "read", "upto": newest}))
                assert (await next_frame(customer, "read"))["upto"] == newest
                await desk.send(
                    json.dumps({"type": "message", "text": "Never share it. How can I help?"})
                )
                while True:
                    frame = await next_frame(customer, "messages")
                    agent_msgs = [m for m in frame["messages"] if m["sender"] == "agent"]
                    if agent_msgs:
                        break
                assert agent_msgs[0]["text"] == "Never share it. How can I help?"
                assert agent_msgs[0]["agent"]["name"] == "Agent Fan"
            # A flood of frames: the burst passes, the rest get one "too fast" and are dropped.
            for _ in range(60):
                await customer.send(json.dumps({"type": "typing"}))
            error = await next_frame(customer, "error")
            assert error["code"] == "chat.too_fast"
        # A foreign page cannot open a socket with the customer's cookie.
        from websockets.exceptions import InvalidStatus

        with pytest.raises(InvalidStatus):
            async with connect(
                ws_one,
                origin="http://evil.example",
                additional_headers={"Cookie": f"{cookie}={customer_token}"},  # type: ignore[arg-type]
            ) as ws:
                await ws.recv()
    assert agent.id is not None


async def test_two_first_messages_at_once_share_one_conversation(fresh_app: FastAPI):
    """Real concurrency (a committing database, two connections): the unique open
    conversation per customer is created once; the loser of the race joins it."""
    _, token = await make_user(fresh_app, name="Racer")
    c = Browser(fresh_app, token)
    await c.open()
    first, second = await asyncio.gather(c.say("first question"), c.say("second question"))
    assert first.status_code == second.status_code == 201 or (
        first.status_code in (200, 201) and second.status_code in (200, 201)
    ), (first.text, second.text)
    assert first.json()["conversation"]["id"] == second.json()["conversation"]["id"]
    await c.close()


async def test_typing_over_http_is_relayed_at_most_every_two_seconds(
    fresh_app: FastAPI, fresh_db_url: str
):
    """The HTTP fallback's typing notices are paced like the socket's: ten posts in a row
    announce one NOTIFY on the conversation's channel (listened to with a real connection)."""
    import asyncpg

    from qianbao.kernel.db import asyncpg_dsn

    _, token = await make_user(fresh_app, name="Typist")
    c = Browser(fresh_app, token)
    await c.open()
    conv = (await c.say("hello")).json()["conversation"]["id"]
    heard: list[str] = []
    listener = await asyncpg.connect(asyncpg_dsn(fresh_db_url))
    channel = f"qb_chat_c_{conv.replace('-', '')}"
    await listener.add_listener(channel, lambda *args: heard.append(args[3]))
    try:
        for _ in range(10):
            r = await c.post(f"/api/v1/chat/conversations/{conv}/typing")
            assert r.status_code == 204
        await asyncio.sleep(0.5)
    finally:
        await listener.close()
        await c.close()
    assert [json.loads(p)["t"] for p in heard] == ["ty"]


@pytest.mark.usefixtures("quiet_sockets")
async def test_the_chat_answers_in_the_language_of_its_page(fresh_db_url: str):
    """The page puts its language in the socket's address: a browser whose WebSocket handshake
    carries another Accept-Language (chromium under a locale override sends its own) still gets
    the bot, and the conversation's messages, in the language of the page it reads."""
    from websockets.asyncio.client import connect

    settings = base_settings(chat=OPEN_ALL_DAY)
    async with live(settings, fresh_db_url) as one:
        db = Database(fresh_db_url)
        ctx = IdentityContext(settings=settings, db=db)
        try:
            tokens = [
                (await user_in(db, ctx, role="user", two_factor=False, name=n, kind="web"))[1]
                for n in ("Li", "Wang")
            ]
        finally:
            await db.dispose()
        cookie = settings.security.session_cookie
        async with httpx.AsyncClient(base_url=one.url) as c:
            c.cookies.set(cookie, tokens[0])
            zh = await c.get("/chat", headers={"Accept-Language": "zh-CN"})
            en = await c.get("/chat", headers={"Accept-Language": "en"})
        assert 'data-ws="/ws/chat?lang=zh_CN"' in zh.text
        assert 'data-ws="/ws/chat?lang=en"' in en.text
        for token, lang, cjk in ((tokens[0], "zh_CN", True), (tokens[1], "en", False)):
            async with connect(
                one.url.replace("http", "ws") + f"/ws/chat?lang={lang}",
                origin=one.url,  # type: ignore[arg-type]
                additional_headers={  # the handshake says the other language
                    "Cookie": f"{cookie}={token}",
                    "Accept-Language": "en" if cjk else "zh-CN",
                },
            ) as customer:
                await customer.send(json.dumps({"type": "message", "text": "充值 top up"}))
                texts: list[str] = []
                while not any(m["sender"] == "bot" for m in texts):  # type: ignore[index]
                    texts += (await next_frame(customer, "messages"))["messages"]
                reply = next(m["text"] for m in texts if m["sender"] == "bot")  # type: ignore[index]
                assert any("\u4e00" <= ch <= "\u9fff" for ch in reply) is cjk, reply
