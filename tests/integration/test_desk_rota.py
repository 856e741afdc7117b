"""The desk calendar with agents' shifts, at 23:09 China time on a Saturday (the desk calendar is
08:00–22:00): without a shift a signed-in customer's chat becomes a ticket due when the desk
promises (Sunday 08:30), a visitor queues with that time; with a night shift the agent on shift
(and only they) takes the chat. Supervisors edit the rota in the console (audited); agents read
it. Call-back slots from the chat are the calendar's next openings, not full; an ended chat stays
on the chat page after a reload."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from qianbao.kernel.clock import LOCAL_TZ, TestClock
from qianbao.support.channels.models import CallbackRequest
from qianbao.support.chat import desk
from qianbao.support.chat.models import ChatConversation
from qianbao.support.chat.service import Config
from qianbao.support.console.models import AuditEntry
from qianbao.support.rota import service as rota
from qianbao.support.tickets.models import Ticket
from tests.integration.test_chat import Browser, agent_online, browser, make_user

SATURDAY_NIGHT = datetime(2026, 12, 19, 23, 9, tzinfo=LOCAL_TZ)
SUNDAY_0830 = datetime(2026, 12, 20, 8, 30, tzinfo=LOCAL_TZ)


@pytest.fixture
async def browsers(app: FastAPI):
    made: list[Browser] = []
    yield made
    for b in made:
        await b.close()


async def handoff(b: Browser, text: str = "my top-up has not arrived") -> dict:
    await b.open()
    conv = (await b.say(text)).json()["conversation"]["id"]
    r = await b.post(f"/api/v1/chat/conversations/{conv}/handoff")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def still_there(app: FastAPI, *headers: dict[str, str]) -> None:
    """The agents' consoles are seen again (after the test moved the clock)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for h in headers:
            r = await c.put("/api/v1/chat/agent/presence", json={"online": True}, headers=h)
            assert r.status_code == 200, r.text


async def add_shift(app: FastAPI, agent_id: uuid.UUID, weekday: int, starts: str, ends: str):
    boss, _ = await make_user(app, role="supervisor", name="Boss")
    async with app.state.db.transaction() as s:
        return await rota.add(s, boss, agent_id=agent_id, weekday=weekday, starts=starts, ends=ends)


async def test_after_hours_without_a_shift_the_ticket_is_due_when_the_desk_opens(
    app: FastAPI, browsers: list[Browser], clock: TestClock
):
    clock.freeze(SATURDAY_NIGHT)
    await agent_online(app, 3, "Agent Evening")  # online, but not on shift: takes nothing
    _, token = await make_user(app)
    r = await handoff(browser(app, browsers, token))
    assert r["conversation"]["status"] == "closed"
    found = re.search(
        r"ticket (T\d{8}-\d{6})\. Expect a reply by (.*?);", r["messages"][-1]["text"]
    )
    assert found and found.group(2) == "Dec 20, 2026 8:30\u202fAM", r["messages"][-1]["text"]
    async with app.state.db.session() as s:
        ticket = (
            await s.execute(select(Ticket).where(Ticket.reference == found.group(1)))
        ).scalar_one()
    assert ticket.first_response_due == SUNDAY_0830  # not the SLA's Monday 17:00
    # A visitor: the queue, with the same time.
    r = await handoff(browser(app, browsers))
    assert r["conversation"]["status"] == "queued"
    assert "expect a reply by Dec 20, 2026 8:30\u202fAM" in r["messages"][-1]["text"]


async def test_a_night_shift_over_midnight_staffs_the_desk_for_its_agent_only(
    app: FastAPI, browsers: list[Browser], clock: TestClock
):
    clock.freeze(SATURDAY_NIGHT)
    wu, wu_h = await agent_online(app, 3, "Agent Wu")
    _, chen_h = await agent_online(app, 3, "Agent Chen")  # online, not on shift
    await add_shift(app, wu.id, 6, "22:00", "08:00")
    for i in range(2):
        _, token = await make_user(app, name=f"Night customer {i}")
        r = await handoff(browser(app, browsers, token))
        assert r["conversation"]["status"] == "assigned"
        assert r["conversation"]["agent"]["name"] == "Agent Wu"
    # Sunday 03:00 is still Saturday's shift; Sunday 08:00 the calendar opens for everyone.
    clock.freeze(datetime(2026, 12, 20, 3, 0, tzinfo=LOCAL_TZ))
    await still_there(app, wu_h, chen_h)
    _, token = await make_user(app, name="Early customer")
    r = await handoff(browser(app, browsers, token))
    assert r["conversation"]["agent"]["name"] == "Agent Wu"
    clock.freeze(datetime(2026, 12, 20, 8, 0, tzinfo=LOCAL_TZ))
    await still_there(app, wu_h, chen_h)
    _, token = await make_user(app, name="Morning customer")
    r = await handoff(browser(app, browsers, token))
    assert r["conversation"]["agent"]["name"] == "Agent Chen"  # the one who waited longest
    # Monday 03:00: no shift (Saturday's ended Sunday 08:00): nobody takes it.
    clock.freeze(datetime(2026, 12, 21, 3, 0, tzinfo=LOCAL_TZ))
    cfg = Config.of(app.state.settings, clock)
    async with app.state.db.transaction() as s:
        assert not (await desk.staffing.state(s, cfg)).staffed


async def test_supervisors_edit_the_rota_in_the_console_agents_read_it(
    app: FastAPI, browsers: list[Browser], clock: TestClock
):
    clock.freeze(SATURDAY_NIGHT)
    wu, _ = await make_user(app, role="support_agent", name="Agent Wu")
    boss, boss_token = await make_user(app, role="supervisor", name="Boss")
    _, agent_token = await make_user(app, role="support_agent", name="Agent Li")
    sup = browser(app, browsers, boss_token)
    page = await sup.http.get("/console/rota", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200, page.text[:500]
    assert "每天 08:00–22:00（北京时间）" in page.text and 'id="rota-add"' in page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await sup.http.post(
        "/console/rota",
        data={"agent": str(wu.id), "weekday": "6", "starts": "22:00", "ends": "08:00",
              "csrf_token": csrf},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    page = await sup.http.get("/console/rota", headers={"Accept-Language": "en"})
    assert "22:00–08:00" in page.text and "overnight: ends the next day" in page.text
    assert "Agent Wu" in page.text
    # A shift of no time is refused, nothing added.
    r = await sup.http.post(
        "/console/rota",
        data={"agent": str(wu.id), "weekday": "1", "starts": "09:00", "ends": "09:00",
              "csrf_token": csrf},
    )  # fmt: skip
    assert r.status_code == 422
    async with app.state.db.session() as s:
        assert len(await rota.shifts(s)) == 1
        actions = (
            await s.execute(select(AuditEntry.action).where(AuditEntry.actor_id == boss.id))
        ).scalars()
        assert "rota.shift_added" in set(actions)
    # An agent reads the rota but has no form; posting is refused.
    agent = browser(app, browsers, agent_token)
    page = await agent.http.get("/console/rota")
    assert page.status_code == 200 and "Agent Wu" in page.text and 'id="rota-add"' not in page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await agent.http.post(
        "/console/rota",
        data={"agent": str(wu.id), "weekday": "1", "starts": "22:00", "ends": "08:00",
              "csrf_token": csrf},
    )  # fmt: skip
    assert r.status_code == 403
    # The console's chat page tells the truth about the closed desk.
    page = await agent.http.get("/console/chat", headers={"Accept-Language": "en"})
    assert "Outside the desk's hours" in page.text  # Wu's shift staffs it now


async def test_call_back_slots_from_the_chat_and_the_ended_chat_stays(
    app: FastAPI, browsers: list[Browser], clock: TestClock
):
    clock.freeze(SATURDAY_NIGHT)
    app.state.settings.support.hours.callback_slot_capacity = 1
    user, token = await make_user(app, name="张三")
    me = browser(app, browsers, token)
    page = await me.open()
    assert (
        "Agents: Every day, 08:00–22:00 (China time) · closed now: expect a reply by tomorrow 08:30"
        in page.text
    )
    slots = re.findall(r'<option value="(2026-12-[^"]+)">([^<]+)</option>', page.text)
    assert slots[:3] == [
        ("2026-12-20T08:00", "tomorrow 08:00–09:00"),
        ("2026-12-20T09:00", "tomorrow 09:00–10:00"),
        ("2026-12-20T10:00", "tomorrow 10:00–11:00"),
    ]
    said = await me.say("my top-up has not arrived")
    conv = said.json()["conversation"]["id"]
    r = await me.http.post(
        "/chat/callback", data={"slot": "2026-12-20T08:00", "csrf_token": me.csrf}
    )
    assert r.status_code == 303, r.text[:500]
    page = await me.open()
    assert "Call-back booked: Sun, Dec 20, from 08:00" in page.text
    assert "Call-back booked: we will call +86 " in page.text  # the chat's confirmation
    async with app.state.db.session() as s:
        req = (
            await s.execute(select(CallbackRequest).where(CallbackRequest.user_id == user.id))
        ).scalar_one()
        assert req.slot_at == datetime(2026, 12, 20, 8, 0, tzinfo=LOCAL_TZ)
        assert req.time_window == "2026-12-20T08:00" and req.note == "my top-up has not arrived"
    # "Talk to a person" after booking: one question, one ticket — the chat joins the call-back's.
    r = await me.post(f"/api/v1/chat/conversations/{conv}/handoff")
    assert r.status_code == 200, r.text
    async with app.state.db.session() as s:
        mine = (await s.execute(select(Ticket).where(Ticket.user_id == user.id))).scalars().all()
        assert [t.channel for t in mine] == ["callback"]
        assert mine[0].reference in r.json()["messages"][-1]["text"]
    # The slot is full now (capacity 1): a visitor is offered 09:00 first, books it on their
    # number; a slot taken meanwhile is refused.
    v = browser(app, browsers)
    page = await v.open()
    assert '<option value="2026-12-20T08:00">' not in page.text
    r = await v.http.post(
        "/chat/callback",
        data={"slot": "2026-12-20T08:00", "phone": "139 0013 9000", "csrf_token": v.csrf},
    )
    assert r.status_code == 422
    r = await v.http.post(
        "/chat/callback",
        data={"slot": "2026-12-20T09:00", "phone": "139 0013 9000", "csrf_token": v.csrf},
    )
    assert r.status_code == 303
    # Both in the console's call-back list with their slots.
    _, agent_token = await make_user(app, role="support_agent", name="Agent Li")
    agent = browser(app, browsers, agent_token)
    page = await agent.http.get("/console/callbacks", headers={"Accept-Language": "en"})
    assert "Sun, Dec 20, from 08:00" in page.text and "Sun, Dec 20, from 09:00" in page.text
    assert "+8613900139000" in page.text and "Visitor (not signed in)" in page.text

    # An agent closes a chat; after a reload (days later) the customer still sees it, read-only.
    clock.freeze(datetime(2026, 12, 21, 10, 0, tzinfo=LOCAL_TZ))
    ag, _ = await agent_online(app, 3, "Agent Wu")
    _, token = await make_user(app, name="李四")
    c = browser(app, browsers, token)
    r = await handoff(c, "where is my withdrawal")
    conv_id = r["conversation"]["id"]
    cfg = Config.of(app.state.settings, clock)
    async with app.state.db.transaction() as s:
        await desk.reply(s, cfg, ag, uuid.UUID(conv_id), "It arrives tomorrow.")
        await desk.close(s, cfg, ag, uuid.UUID(conv_id))
    clock.freeze(datetime(2026, 12, 25, 10, 0, tzinfo=LOCAL_TZ))
    page = await c.open()
    assert 'id="chat-ended"' in page.text and "Your last conversation" in page.text
    assert "where is my withdrawal" in page.text and "It arrives tomorrow." in page.text
    assert 'href="/chat?new=1#chat-text"' in page.text
    page = (await c.http.get("/chat?new=1")).text
    assert 'id="chat-ended"' not in page
    async with app.state.db.session() as s:
        assert (await s.get(ChatConversation, uuid.UUID(conv_id))).status == "closed"  # type: ignore[union-attr]
