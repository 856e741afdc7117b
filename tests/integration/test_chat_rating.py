"""Live chat after the agent closes (E7, E10) on a real database: the customer rates it 1-5 once
(nobody else, not before it is closed, not a chat that became a ticket); the chat ratings count
in the reports' CSAT; "My conversations and tickets" lists both; the transcript downloads as
plain text (masked, nothing internal) or goes to the verified e-mail address; another user's
conversation is not found."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from qianbao.kernel.outbox import OutboxMessage
from qianbao.settings import Settings
from qianbao.support.console import ratings, reports
from qianbao.support.console.errors import RatingRefused
from qianbao.support.console.models import Rating
from tests.conftest import base_settings
from tests.integration.test_chat import (
    OPEN_ALL_DAY,
    Browser,
    agent_online,
    browser,
    browsers,  # noqa: F401  (fixture)
    make_user,
)


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        chat=OPEN_ALL_DAY,
    )


async def csrf_of(b: Browser, path: str = "/chat") -> str:
    page = await b.http.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


async def rate(b: Browser, conv: str, score: str, comment: str = "") -> httpx.Response:
    token = await csrf_of(b)
    return await b.http.post(
        "/chat/rating",
        data={"csrf_token": token, "conversation": conv, "score": score, "comment": comment},
        headers={"HX-Request": "true"},
    )


async def agent_call(app: FastAPI, method: str, path: str, headers: dict[str, str], **kw):  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.request(method, path, headers=headers, **kw)
    assert r.status_code in (200, 201), r.text
    return r


async def test_rating_rules_and_transcripts(app: FastAPI, browsers: list[Browser]):  # noqa: F811
    agent, agent_h = await agent_online(app, 3, "Agent Wu")
    alice, alice_token = await make_user(app, name="Alice")
    bob, bob_token = await make_user(app, name="Bob")
    a = browser(app, browsers, alice_token)
    b = browser(app, browsers, bob_token)
    v = browser(app, browsers)
    for x in (a, b, v):
        await x.open()

    r = await a.say("how do I recharg my wallet")
    conv = r.json()["conversation"]["id"]
    r = await a.post(f"/api/v1/chat/conversations/{conv}/handoff")
    assert r.json()["conversation"]["status"] == "assigned"
    await agent_call(
        app,
        "POST",
        f"/api/v1/chat/agent/conversations/{conv}/messages",
        agent_h,
        json={"text": "Tap Top up. Never tell anyone your code 123456."},
    )

    # Not before it is closed: no form, and a rating is refused.
    assert "Was this conversation helpful?" not in (await a.http.get("/chat")).text
    r = await rate(a, conv, "5")
    assert r.status_code == 409 and "once, after it is closed" in r.text
    async with app.state.db.transaction() as s:
        with pytest.raises(RatingRefused):
            await ratings.rate_chat(s, alice, conv_id(conv), 5)

    await agent_call(app, "POST", f"/api/v1/chat/agent/conversations/{conv}/close", agent_h)

    # Nobody else: another customer and a visitor do not even find it.
    r = await rate(b, conv, "1", "not mine")
    assert r.status_code == 404
    assert (await b.http.get(f"/chat/rating?c={conv}")).status_code == 404
    assert 'id="chat-rating" hidden' in (await v.http.get(f"/chat/rating?c={conv}")).text
    for path in (f"/support/chats/{conv}", f"/support/chats/{conv}/transcript.txt"):
        assert (await b.http.get(path)).status_code == 404
    assert (await b.http.get("/support/chats/not-a-uuid")).status_code == 404

    # The customer: the closed conversation offers the rating on /chat (reload) and by snippet.
    assert "Was this conversation helpful?" in (await a.http.get("/chat")).text
    assert 'name="score"' in (await a.http.get(f"/chat/rating?c={conv}")).text
    assert (await rate(a, conv, "9")).status_code == 422
    r = await rate(a, conv, "5", "  Quick and kind  ")
    assert r.status_code == 200, r.text
    assert "you rated this 5 out of 5" in r.text
    # Once only.
    r = await rate(a, conv, "1")
    assert r.status_code == 409 and "you rated this 5 out of 5" in r.text
    async with app.state.db.session() as s:
        rows = (await s.execute(select(Rating).where(Rating.user_id == alice.id))).scalars().all()
    assert [(x.score, x.comment, str(x.conversation_id), x.ticket_id) for x in rows] == [
        (5, "Quick and kind", conv, None)
    ]
    assert not any(x.user_id == bob.id for x in rows)

    # The reports count it in CSAT (a supervisor's view).
    supervisor, _ = await make_user(app, role="supervisor", name="Boss")
    today = app.state.clock.today()
    async with app.state.db.transaction() as s:
        report = await reports.build(s, supervisor, today, today, settings=app.state.settings)
    assert report.csat_count == 1 and report.csat_chat_count == 1
    assert report.csat_by_score[5] == 1
    # The chat counts for its agent, with its rating.
    assert report.chat is not None and report.chat.with_agent >= 1
    mine = [row for row in report.by_agent if row.chats]
    assert any(row.csat_count == 1 and row.csat_average == 5.0 for row in mine)

    # The transcript: plain text, masked as stored, the agent by name and public id only.
    r = await a.http.get(f"/support/chats/{conv}/transcript.txt")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["content-disposition"].startswith('attachment; filename="chat-')
    text = r.text
    assert "how do I recharg my wallet" in text
    assert "How to top up your wallet" in text and "/help/how-to-top-up" in text
    assert "code ******" in text and "123456" not in text
    assert re.search(r"Agent Wu \(agent ID QB-\d{6}\)", text)
    assert "This conversation is closed." in text
    for internal in (str(alice.id), str(agent.id), conv, "verified", "read_by"):
        assert internal not in text

    # E-mail: only to a verified address, through the notifications' outbox.
    token = await csrf_of(a, f"/support/chats/{conv}")
    r = await a.http.post(f"/support/chats/{conv}/transcript", data={"csrf_token": token})
    assert r.status_code == 409 and "verify an e-mail address" in r.text
    async with app.state.db.transaction() as s:
        me = await s.get(type(alice), alice.id)
        me.email, me.email_verified_at = "alice@example.com", app.state.clock.now()
    r = await a.http.post(f"/support/chats/{conv}/transcript", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].endswith("notice=transcript_sent")
    r = await b.http.post(
        f"/support/chats/{conv}/transcript", data={"csrf_token": await csrf_of(b)}
    )
    assert r.status_code == 404
    async with app.state.db.session() as s:
        sent = [
            m.payload
            for m in (await s.execute(select(OutboxMessage))).scalars().all()
            if m.payload.get("template") == "support.chat_transcript"
        ]
    assert len(sent) == 1 and sent[0]["to"] == "alice@example.com"
    assert "123456" not in str(sent[0]) and "How to top up your wallet" in str(sent[0])
    from qianbao.notifications import render

    mail = render("support.chat_transcript", "email", "en", sent[0]["params"])
    assert mail.subject and mail.subject.startswith("Transcript of your Qianbao chat of ")
    assert "how do I recharg my wallet" in mail.text

    # A chat that became a ticket (no agent online) is rated as the ticket, not as a chat.
    await agent_call(app, "PUT", "/api/v1/chat/agent/presence", agent_h, json={"online": False})
    r = await a.say("my withdrawal is late")
    second = r.json()["conversation"]["id"]
    r = await a.post(f"/api/v1/chat/conversations/{second}/handoff")
    assert r.json()["conversation"]["status"] == "closed"
    async with app.state.db.transaction() as s:
        with pytest.raises(RatingRefused):
            await ratings.rate_chat(s, alice, conv_id(second), 4)

    # My conversations and tickets: both chats and the ticket, newest first, with links.
    page = (await a.http.get("/support")).text
    assert "My conversations and tickets" in page
    ticket = re.search(r'href="/support/tickets/(T[\d-]+)"', page)
    assert ticket, page
    order = [page.index(f'href="/support/chats/{second}"'), page.index(f"/support/chats/{conv}")]
    assert order == sorted(order)
    assert f'href="/support/chats/{conv}/transcript.txt"' in page
    assert "Bob" not in page
    other = (await b.http.get("/support")).text
    assert conv not in other and second not in other
    assert (await v.http.get("/support")).status_code in (302, 303)


def conv_id(raw: str):  # type: ignore[no-untyped-def]
    import uuid

    return uuid.UUID(raw)


async def test_json_api_for_past_chats(app: FastAPI):
    _, agent_h = await agent_online(app, 3, "Agent Lin")
    carol, token = await make_user(app, name="Carol")
    _, dave_token = await make_user(app, name="Dave")
    bearer = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post("/api/v1/chat/messages", json={"text": "my card 6222020200112233446"},
                         headers=bearer)  # fmt: skip
        conv = r.json()["conversation"]["id"]
        await c.post(f"/api/v1/chat/conversations/{conv}/handoff", headers=bearer)
        await agent_call(app, "POST", f"/api/v1/chat/agent/conversations/{conv}/messages",
                         agent_h, json={"text": "Hello Carol."})  # fmt: skip
        # Rating before it is closed: refused; no rating yet.
        url = f"/api/v1/chat/conversations/{conv}/rating"
        assert (await c.post(url, json={"score": 5}, headers=bearer)).status_code == 409
        assert (await c.get(url, headers=bearer)).json() is None
        await agent_call(app, "POST", f"/api/v1/chat/agent/conversations/{conv}/close", agent_h)

        r = await c.get("/api/v1/chat/conversations", headers=bearer)
        assert r.status_code == 200
        (item,) = r.json()
        assert item["id"] == conv and item["status"] == "closed"
        assert item["title"].startswith("my card ") and "6222020200112233446" not in item["title"]
        assert item["agent"].startswith("Agent Lin (QB-")
        r = await c.get(f"/api/v1/chat/conversations/{conv}/transcript", headers=bearer)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert "Hello Carol." in r.text and "6222020200112233446" not in r.text
        assert (await c.post(url, json={"score": 6}, headers=bearer)).status_code == 422
        r = await c.post(url, json={"score": 4, "comment": "ok"}, headers=bearer)
        assert r.status_code == 201 and r.json() == {
            "conversation_id": conv, "score": 4, "comment": "ok"
        }  # fmt: skip
        assert (await c.get(url, headers=bearer)).json()["score"] == 4
        assert (await c.post(url, json={"score": 1}, headers=bearer)).status_code == 409
        # No verified e-mail address: a clear refusal.
        r = await c.post(f"/api/v1/chat/conversations/{conv}/transcript/email", headers=bearer)
        assert r.status_code == 409 and r.json()["code"] == "chat.no_email"
        # Someone else: not found everywhere; nobody signed in: 401.
        other = {"Authorization": f"Bearer {dave_token}"}
        for method, path in (("GET", url), ("POST", url),
                             ("GET", f"/api/v1/chat/conversations/{conv}/transcript"),
                             ("POST", f"/api/v1/chat/conversations/{conv}/transcript/email")):  # fmt: skip
            r = await c.request(method, path, json={"score": 3}, headers=other)
            assert r.status_code == 404, (method, path, r.status_code)
        assert (await c.get("/api/v1/chat/conversations", headers=other)).json() == []
        assert (await c.get("/api/v1/chat/conversations")).status_code == 401
    assert carol.id is not None
