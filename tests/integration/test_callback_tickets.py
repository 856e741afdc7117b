"""Call-back requests become tickets (E4) on a real database: the request and its ticket are
stored in one transaction (a failure stores neither), the user sees the reference on /contact,
the console's call-back list links to the ticket, and "done" adds an internal note (once) that
the customer never sees. Also: the console's ticket actions have their own notices."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from qianbao.support.channels import callbacks
from qianbao.support.channels.models import CallbackRequest
from qianbao.support.tickets import callbacks as ticket_callbacks
from qianbao.support.tickets import service
from qianbao.support.tickets.models import Ticket, TicketEvent
from tests.integration.test_tickets import form_token, open_ticket, staff_token
from tests.support.identity import bearer, sign_up

REF = re.compile(r"T\d{8}-\d{6}")


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def ticket_of(app: FastAPI, reference: str) -> tuple[Ticket, list]:
    async with app.state.db.session() as s:
        ticket = await service.any_ticket(s, reference)
        return ticket, await service.thread(s, ticket, internal=True)


async def test_a_callback_request_opens_a_ticket(app: FastAPI, client: httpx.AsyncClient):
    phone, token = await sign_up(client, app)
    en = {**bearer(token), "Accept-Language": "en"}
    r = await client.post(
        "/api/v1/support/callbacks",
        json={"window": "17-20", "topic": "withdrawal", "note": "where is my money"},
        headers=en,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    ref = made["ticket"]
    assert REF.fullmatch(ref)
    ticket, thread = await ticket_of(app, ref)
    assert (ticket.channel, ticket.category, ticket.priority, ticket.status) == (
        "callback", "withdrawal", "normal", "new"
    )  # fmt: skip
    assert ticket.intake == {"callback": made["id"], "topic": "withdrawal", "window": "17-20"}
    assert ticket.subject == "Call-back request: A withdrawal, 17:00–20:00"
    assert [(i.message.author_kind, i.message.body, i.message.via) for i in thread] == [
        ("customer", "where is my money", "callback")
    ]
    assert ticket.requester_email is None  # no verified e-mail address: nothing is e-mailed

    # The user sees the reference on /contact and the ticket among theirs, with the time slot.
    page = await client.get("/contact", headers=en)
    assert f'href="/support/tickets/{ref}"' in page.text
    page = await client.get(f"/support/tickets/{ref}", headers=en)
    assert page.status_code == 200
    assert "17:00–20:00" in page.text and "A withdrawal" in page.text
    mine = (await client.get("/api/v1/support/tickets", headers=bearer(token))).json()
    assert ref in str(mine)

    # Staff: the call-back row links to the ticket; the ticket shows the slot and topic.
    agent, agent_id = await staff_token(app)
    ah = {**bearer(agent), "Accept-Language": "en"}
    listed = (await client.get("/api/v1/support/callbacks", headers=ah)).json()
    assert [(c["id"], c["ticket"]) for c in listed] == [(made["id"], ref)]
    page = await client.get("/console/callbacks", headers=ah)
    assert f'href="/console/tickets/{ref}"' in page.text and "+86" + phone in page.text
    page = await client.get(f"/console/tickets/{ref}", headers=ah)
    assert "Preferred time (China time)" in page.text and "17:00–20:00" in page.text

    # Done (in the console): an internal note on the ticket, the call is the first response.
    csrf = await form_token(client, "/console/callbacks", ah)
    r = await client.post(
        f"/console/callbacks/{made['id']}/done", data={"csrf_token": csrf}, headers=ah
    )
    assert r.status_code == 303 and r.headers["location"].endswith("notice=done")
    page = await client.get(r.headers["location"], headers=ah)
    assert "The ticket has a note of the call." in page.text
    assert f'href="/console/tickets/{ref}"' in page.text  # in "recently done"
    ticket, thread = await ticket_of(app, ref)
    note = thread[-1].message
    assert (note.author_kind, note.internal, note.author_id) == ("agent", True, agent_id)
    assert note.body.startswith("Call-back done")
    assert ticket.status == "open" and ticket.first_responded_at is not None
    async with app.state.db.session() as s:
        actions = (await s.execute(
            select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id)
        )).scalars().all()  # fmt: skip
    assert list(actions) == ["created", "viewed", "callback_done"]
    # Done again (the API): nothing more is added.
    r = await client.post(f"/api/v1/support/callbacks/{made['id']}/done", headers=ah)
    assert r.status_code == 200 and r.json()["ticket"] == ref
    assert len((await ticket_of(app, ref))[1]) == 2
    # The customer never sees the note.
    page = await client.get(f"/support/tickets/{ref}", headers=en)
    assert "Call-back done" not in page.text

    # Through the contact page (Chinese): a new request opens a second ticket.
    zh = {**bearer(token), "Accept-Language": "zh-CN"}
    csrf = await form_token(client, "/contact", zh)
    r = await client.post(
        "/contact/callback",
        data={"csrf_token": csrf, "window": "asap", "topic": "fraud", "note": ""},
        headers=zh,
    )
    assert r.status_code == 303
    page = await client.get("/contact?callback=requested", headers=zh)
    second = REF.search(page.text.split('id="callback-ticket"')[1]).group(0)  # type: ignore[union-attr]
    assert second != ref
    ticket, thread = await ticket_of(app, second)
    # Fraud is a security ticket with high priority (a shorter SLA), as on the ticket pages.
    assert ticket.intake["topic"] == "fraud"
    assert (ticket.category, ticket.priority) == ("security", "high")
    assert ticket.subject.startswith("回电请求") and thread[0].message.body == "请给我回电。"


async def test_request_and_ticket_share_one_transaction(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    _, token = await sign_up(client, app)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the ticket desk is down")

    monkeypatch.setattr(ticket_callbacks, "open_ticket", broken)
    r = await client.post(
        "/api/v1/support/callbacks",
        json={"window": "asap", "topic": "other"},
        headers=bearer(token),
    )
    assert r.status_code == 500
    async with app.state.db.session() as s:
        stored = (await s.execute(select(func.count()).select_from(CallbackRequest))).scalar_one()
    assert stored == 0  # no ticket, no request


async def test_an_older_request_without_a_ticket_can_still_be_done(
    app: FastAPI, client: httpx.AsyncClient
):
    _, token = await sign_up(client, app)
    user_id = uuid.UUID((await client.get("/api/v1/me", headers=bearer(token))).json()["id"])
    _, agent_id = await staff_token(app)
    async with app.state.db.transaction() as s:
        old = CallbackRequest(user_id=user_id, phone="+8613800138000", time_window="asap",
                              topic="other", note="", locale="en", status="new")  # fmt: skip
        s.add(old)
        await s.flush()
        old_id = old.id
    async with app.state.db.transaction() as s:
        done = await callbacks.mark_done(s, app.state.settings, old_id, actor=agent_id)
        assert done.status == "done"
        assert await callbacks.tickets_of(s, [done]) == {}


async def test_console_ticket_actions_have_their_own_notices(
    app: FastAPI, client: httpx.AsyncClient
):
    _, alice = await sign_up(client, app)
    agent, _ = await staff_token(app)
    ref = (await open_ticket(client, alice, body="hello"))["reference"]
    h = {**bearer(agent), "Accept-Language": "en"}
    csrf = await form_token(client, "/console/tickets", h)
    for action, data, notice, text in [
        ("reply", {"body": "note", "internal": "on"}, "note_added", "The internal note was added."),
        ("assign", {"assignee": "me"}, "assigned", "The assignee was changed."),
        ("priority", {"priority": "high"}, "priority", "The priority was changed"),
        ("reply", {"body": "Hello!"}, "replied", "Your answer was added."),
        ("status", {"status": "resolved"}, "status", "The status was changed."),
    ]:
        r = await client.post(f"/console/tickets/{ref}/{action}",
                              data={**data, "csrf_token": csrf}, headers=h)  # fmt: skip
        assert r.status_code == 303, r.text[:300]
        assert r.headers["location"] == f"/console/tickets/{ref}?notice={notice}"
        page = await client.get(r.headers["location"], headers=h)
        assert text in page.text and "Saved." not in page.text
    other = (await open_ticket(client, alice, body="again"))["reference"]
    r = await client.post(f"/console/tickets/{other}/merge",
                          data={"target": ref, "csrf_token": csrf}, headers=h)  # fmt: skip
    assert r.status_code == 303  # merged: the page of the ticket everything went to
    assert r.headers["location"] == f"/console/tickets/{ref}?notice=merged"
    page = await client.get(r.headers["location"], headers=h)
    assert "The tickets were merged." in page.text
