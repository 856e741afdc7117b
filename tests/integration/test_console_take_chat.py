"""An agent picks a waiting chat by hand ("接入", issue 20): the queue lists it with its first
question, channel and wait; taking it assigns it, tells the customer who took over (the same
message as on assignment) and is audited; two agents taking it at once — one wins, the other is
told; an agent offline or at capacity cannot take one; the round-robin stays."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from qianbao.kernel.clock import LOCAL_TZ, TestClock
from qianbao.support.chat import desk, waiting
from qianbao.support.chat.api import config
from qianbao.support.chat.models import ChatAgent, ChatConversation, ChatMessage
from qianbao.support.chat.waiting import ChatAlreadyTaken, GoOnlineFirst, NoRoomForChat
from qianbao.support.console.models import AuditEntry
from tests.integration.test_console import staff_member


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app


async def _queued(app: FastAPI, clock: TestClock, question: str, channel: str = "web"):
    """A visitor's conversation waiting in the queue, with its first two messages."""
    async with app.state.db.transaction() as s:
        conv = ChatConversation(
            status="queued", channel=channel, locale="zh_CN", visitor_hash=os.urandom(32)
        )
        conv.queued_at = clock.now()
        s.add(conv)
        await s.flush()
        s.add(ChatMessage(conversation_id=conv.id, sender="customer", body=question))
        s.add(ChatMessage(conversation_id=conv.id, sender="customer", body="在吗"))
        return conv.id


async def _online(app: FastAPI, user_id: uuid.UUID, capacity: int = 3) -> None:
    clock = app.state.identity.clock
    async with app.state.db.transaction() as s:
        s.add(
            ChatAgent(
                user_id=user_id,
                online=True,
                max_concurrent=capacity,
                updated_at=clock.now(),
            )
        )


async def _user(app, user_id):
    from qianbao.identity.models import User

    async with app.state.db.transaction() as s:
        return await s.get(User, user_id)


async def _take(app, fake_request, user_id, conv_id):
    user = await _user(app, user_id)
    async with app.state.db.transaction() as s:
        return await desk.take(s, config(fake_request), user, conv_id)


class _Req:
    def __init__(self, app):
        self.app = app


async def test_the_queue_lists_waiting_chats_and_one_of_two_agents_wins(
    app: FastAPI, clock: TestClock
):
    clock.freeze(datetime(2026, 12, 21, 10, 0, tzinfo=LOCAL_TZ))  # a Monday, desk open
    _, first = await staff_member(app, name="王芳")
    _, second = await staff_member(app, name="赵强")
    await _online(app, first)
    await _online(app, second)
    cid = await _queued(app, clock, "我的充值怎么还没到", "wechat")
    clock.advance(minutes=4)
    async with app.state.db.transaction() as s:
        listed = await waiting.waiting(s)
    assert [(w.id, w.question, w.channel, w.waited_s, w.verified) for w in listed] == [
        (cid, "我的充值怎么还没到", "wechat", 240, False)
    ]

    req = _Req(app)
    results = await asyncio.gather(
        _take(app, req, first, cid), _take(app, req, second, cid), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, ChatConversation)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], ChatAlreadyTaken), results
    winner = won[0].agent_id
    assert winner in (first, second)
    async with app.state.db.transaction() as s:
        conv = await s.get(ChatConversation, cid)
        assert conv is not None and (conv.status, conv.agent_id) == ("assigned", winner)
        said = (
            await s.execute(
                select(ChatMessage.body, ChatMessage.data)
                .where(ChatMessage.conversation_id == cid, ChatMessage.sender == "system")
                .order_by(ChatMessage.id)
            )
        ).all()
        name = "王芳" if winner == first else "赵强"
        assert len(said) == 1 and said[0].data["key"] == "assigned"
        assert name in said[0].body and said[0].data["params"]["name"] == name
        taken = (
            (await s.execute(select(AuditEntry).where(AuditEntry.action == "chat.taken")))
            .scalars()
            .all()
        )
        assert [(e.actor_id, e.object_id, e.details["waited_s"]) for e in taken] == [
            (winner, str(cid), 240)
        ]
        assert await waiting.waiting(s) == []


async def test_offline_or_full_agents_cannot_take(app: FastAPI, clock: TestClock):
    clock.freeze(datetime(2026, 12, 21, 10, 0, tzinfo=LOCAL_TZ))
    _, offline = await staff_member(app)
    _, full = await staff_member(app)
    await _online(app, full, capacity=1)
    req = _Req(app)
    cids = [await _queued(app, clock, text) for text in ("一", "二")]
    with pytest.raises(GoOnlineFirst):
        await _take(app, req, offline, cids[0])
    await _take(app, req, full, cids[0])
    with pytest.raises(NoRoomForChat):
        await _take(app, req, full, cids[1])
    async with app.state.db.transaction() as s:
        conv = await s.get(ChatConversation, cids[1])
        assert conv is not None and (conv.status, conv.agent_id) == ("queued", None)


async def test_take_on_the_console_page(app: FastAPI, fresh_client: httpx.AsyncClient, clock):
    """The list page shows the queue with a Take button; a lost race says so on the page."""
    from tests.integration.test_console import csrf
    from tests.support.identity import bearer

    clock.freeze(datetime(2026, 12, 21, 10, 0, tzinfo=LOCAL_TZ))
    token, agent = await staff_member(app)
    _, other = await staff_member(app)
    await _online(app, agent)
    await _online(app, other)
    cid = await _queued(app, clock, "提现到账要多久")
    headers = bearer(token)
    page = await fresh_client.get("/console/chat", headers=headers)
    assert page.status_code == 200 and "提现到账要多久" in page.text
    assert f"/console/chat/{cid}/take" in page.text
    await _take(app, _Req(app), other, cid)  # the other agent was quicker
    token_csrf = await csrf(fresh_client, headers)
    r = await fresh_client.post(
        f"/console/chat/{cid}/take", data={"csrf_token": token_csrf}, headers=headers
    )
    assert r.status_code == 409
    assert "另一位客服刚刚接入了这个会话" in r.text or "Another agent has just taken" in r.text


async def test_take_over_the_api(app: FastAPI, fresh_client: httpx.AsyncClient, clock):
    """The agents' JSON API has the same: the waiting list, take, and a lost race as 409."""
    from tests.support.identity import bearer

    clock.freeze(datetime(2026, 12, 21, 10, 0, tzinfo=LOCAL_TZ))
    token, agent = await staff_member(app)
    other_token, other = await staff_member(app)
    await _online(app, agent)
    await _online(app, other)
    cid = await _queued(app, clock, "充值一直没到账")
    listed = (await fresh_client.get("/api/v1/chat/agent/waiting", headers=bearer(token))).json()
    [row] = [w for w in listed["waiting"] if w["id"] == str(cid)]
    assert row["question"].startswith("充值一直没到账") and row["channel"] == "web"
    path = f"/api/v1/chat/agent/conversations/{cid}/take"
    won = await fresh_client.post(path, headers=bearer(token))
    assert won.status_code == 200, won.text
    assert won.json()["conversation"]["status"] == "assigned"
    lost = await fresh_client.post(path, headers=bearer(other_token))
    assert lost.status_code == 409 and lost.json()["code"] == "chat.already_taken"
    customer = await fresh_client.get("/api/v1/chat/agent/waiting", headers={})
    assert customer.status_code == 401
