"""Agent presence in the live chat: an agent marked online but whose console has not been seen
for the presence window gets no new conversations; after the longer abandon window the worker's
periodic task sets them offline and hands their open conversations on (to a present agent, to
the queue keeping the customer's place, or to a ticket), telling the customer. An agent hands a
chat to another present agent with room. The WebSocket heartbeat is tested with real sockets in
test_chat.py (two processes)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text

from qianbao.support.chat import desk
from qianbao.support.chat.models import ChatAgent, ChatConversation, ChatMessage
from qianbao.support.chat.service import Config
from qianbao.support.console.models import AuditEntry
from tests.integration import test_chat as chat_tests
from tests.integration.test_chat import Browser, agent_online, browser, make_user

settings = chat_tests.settings  # the same fixtures: the desk open all day, an SMS outbox file
browsers = chat_tests.browsers


async def age(app: FastAPI, agent_id: uuid.UUID, seconds: int) -> None:
    async with app.state.db.transaction() as s:
        await s.execute(
            text("UPDATE chat_agents SET last_seen_at = :at WHERE user_id = :id"),
            {"at": app.state.clock.now() - timedelta(seconds=seconds), "id": agent_id},
        )  # fmt: skip


async def handoff(c: Browser) -> dict[str, Any]:
    await c.open()
    conv = (await c.say("I need help with a payment")).json()["conversation"]["id"]
    r = await c.post(f"/api/v1/chat/conversations/{conv}/handoff")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def state(app: FastAPI, conv_id: str) -> tuple[ChatConversation, list[str]]:
    async with app.state.db.session() as s:
        conv = await s.get(ChatConversation, uuid.UUID(conv_id))
        keys = (
            await s.execute(
                select(ChatMessage.data["key"].astext)
                .where(ChatMessage.conversation_id == conv.id, ChatMessage.sender == "system")
                .order_by(ChatMessage.id)
            )
        ).scalars()
        return conv, list(keys)


async def release(app: FastAPI) -> int:
    cfg = Config.of(app.state.settings, app.state.clock)
    async with app.state.db.transaction() as s:
        return await desk.release_absent(s, cfg)


async def test_an_absent_agent_gets_nothing_and_their_chats_move_on(
    app: FastAPI, browsers: list[Browser]
):
    gone, gone_h = await agent_online(app, 2, "Agent Gone")
    visitor = await handoff(browser(app, browsers))
    _, token = await make_user(app, name="Customer Two")
    member = await handoff(browser(app, browsers, token))
    for r in (visitor, member):
        assert r["conversation"]["agent"]["name"] == "Agent Gone"
    visitor_id, member_id = visitor["conversation"]["id"], member["conversation"]["id"]

    # Not seen for two minutes (over the 90 s presence window): no new conversation for them,
    # and with nobody else present a signed-in customer gets a ticket.
    await age(app, gone.id, 120)
    _, token3 = await make_user(app, name="Customer Three")
    third = await handoff(browser(app, browsers, token3))
    assert third["conversation"]["status"] == "closed"
    assert "We turned this chat into ticket T" in third["messages"][-1]["text"]
    assert await release(app) == 0  # under the 300 s abandon window: they keep their chats

    # An API client polling its conversations is a sign of life.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await c.get("/api/v1/chat/agent/conversations", headers=gone_h)).status_code == 200
    fresh = text(
        "SELECT :now - last_seen_at < interval '10 seconds' FROM chat_agents WHERE user_id = :id"
    )
    async with app.state.db.session() as s:
        seen = (await s.execute(fresh, {"id": gone.id, "now": app.state.clock.now()})).scalar_one()
    assert seen is True

    # Gone for good (over 300 s): offline, and their two chats are handed on in order.
    here, _ = await agent_online(app, 1, "Agent Here")
    await age(app, gone.id, 400)
    async with app.state.db.session() as s:
        before = (await s.get(ChatConversation, uuid.UUID(member_id))).assigned_at
    assert await release(app) == 2
    async with app.state.db.session() as s:
        assert (await s.get(ChatAgent, gone.id)).online is False
    conv, keys = await state(app, visitor_id)
    assert conv.status == "assigned" and conv.agent_id == here.id
    assert keys[-2:] == ["agent_gone", "assigned"]
    conv, keys = await state(app, member_id)
    assert conv.status == "queued" and conv.agent_id is None  # Agent Here is at capacity
    assert conv.queued_at is not None and conv.queued_at <= before  # keeps their place
    assert keys[-2:] == ["agent_gone", "queued"]
    # The customer reads it in their language, from their own view.
    r = await browsers[1].http.get(f"/api/v1/chat/conversations/{member_id}/messages")
    texts = [m["text"] for m in r.json()["messages"]]
    assert any(t.startswith("Your agent lost the connection.") for t in texts)
    assert await release(app) == 0  # nothing left to release


async def test_the_worker_round_moves_the_queue_when_the_desk_opens(
    app: FastAPI, browsers: list[Browser]
):
    """Queued before opening time with an agent already online: nothing else happens, the
    worker's round gives the chat to the agent once the desk is open."""
    from datetime import date, datetime, time

    from qianbao.kernel.clock import LOCAL_TZ, FrozenClock

    app.state.settings.chat.opens_at, app.state.settings.chat.closes_at = 8, 22
    today = date(2026, 12, 2)  # a Wednesday
    app.state.clock.freeze(datetime.combine(today, time(7, 50), tzinfo=LOCAL_TZ))
    agent, _ = await agent_online(app, 2, "Agent Early")
    queued = await handoff(browser(app, browsers))  # a visitor: queued until opening
    assert queued["conversation"]["status"] == "queued"
    opening = datetime.combine(today, time(8, 1), tzinfo=LOCAL_TZ)
    morning = Config.of(app.state.settings, FrozenClock(opening))
    async with app.state.db.transaction() as s:
        assert await desk.tend(s, morning) == (0, 1)
    conv, keys = await state(app, queued["conversation"]["id"])
    assert conv.status == "assigned" and conv.agent_id == agent.id
    assert keys[-1] == "assigned"


async def test_an_agent_transfers_a_chat_to_a_present_agent_with_room(
    app: FastAPI, browsers: list[Browser]
):
    first, first_h = await agent_online(app, 3, "Agent First")
    _, token = await make_user(app, name="Customer T")
    customer = browser(app, browsers, token)
    conv_id = (await handoff(customer))["conversation"]["id"]
    other = await handoff(browser(app, browsers))  # a second chat, also Agent First's
    second, second_h = await agent_online(app, 1, "Agent Second")
    absent, _ = await agent_online(app, 3, "Agent Absent")
    await age(app, absent.id, 120)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        url = f"/api/v1/chat/agent/conversations/{conv_id}/transfer"
        # Not to oneself, not to an agent who is not present.
        for target in (first.id, absent.id):
            r = await c.post(url, json={"agent_id": str(target)}, headers=first_h)
            assert r.status_code == 409 and r.json()["code"] == "chat.transfer_unavailable"
        # The page lists who can take it (present, with room, not the holder).
        page = await c.get(f"/console/chat/{conv_id}", headers=first_h)
        assert "Agent Second" in page.text and "Agent Absent" not in page.text
        r = await c.post(url, json={"agent_id": str(second.id)}, headers=first_h)
        assert r.status_code == 200, r.text
        # Agent Second has it now; Agent First no longer sees it.
        r = await c.get("/api/v1/chat/agent/conversations", headers=second_h)
        assert [x["id"] for x in r.json()["conversations"]] == [conv_id]
        r = await c.get(f"/api/v1/chat/agent/conversations/{conv_id}/messages", headers=first_h)
        assert r.status_code == 404
        # Agent Second is full: the other chat cannot follow.
        r = await c.post(
            f"/api/v1/chat/agent/conversations/{other['conversation']['id']}/transfer",
            json={"agent_id": str(second.id)},
            headers=first_h,
        )
        assert r.status_code == 409
        page = await c.get(f"/console/chat/{other['conversation']['id']}", headers=first_h)
        assert 'id="transfer-none"' in page.text
        # The page's form: Agent Second hands it back, and is told so.
        page = await c.get(f"/console/chat/{conv_id}", headers=second_h)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = await c.post(f"/console/chat/{conv_id}/transfer", headers=second_h,
                         data={"agent": str(first.id), "csrf_token": token})  # fmt: skip
        assert r.status_code == 303 and r.headers["location"].endswith("notice=chat_transferred")
        r = await c.get("/console/chat?notice=chat_transferred", headers=second_h)
        assert "对话已转给另一位客服。" in r.text
        page = await c.get(f"/console/chat/{conv_id}", headers=first_h)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = await c.post(f"/console/chat/{conv_id}/transfer", headers=first_h,
                         data={"agent": "nobody", "csrf_token": token})  # fmt: skip
        assert r.status_code == 409 and "该客服现在无法接手此对话" in r.text
    conv, keys = await state(app, conv_id)
    assert conv.agent_id == first.id and conv.status == "assigned"
    assert keys[-2:] == ["transferred", "transferred"]
    r = await customer.http.get(f"/api/v1/chat/conversations/{conv_id}/messages")
    assert r.json()["conversation"]["agent"]["name"] == "Agent First"
    texts = [m["text"] for m in r.json()["messages"]]
    assert texts[-2].startswith("Agent Second (agent ID QB-") and "taking over" in texts[-2]
    async with app.state.db.session() as s:
        rows = (
            await s.execute(
                select(AuditEntry)
                .where(AuditEntry.action == "chat.transferred", AuditEntry.object_id == conv_id)
                .order_by(AuditEntry.id)
            )
        ).scalars()
        entries = [(e.actor_id, e.details) for e in rows]
    assert entries == [
        (first.id, {"from": str(first.id), "to": str(second.id)}),
        (second.id, {"from": str(second.id), "to": str(first.id)}),
    ]
