"""Tickets on a real database through the API and pages: intake fields per category, a link to
one's own transaction only, statuses and the SLA pause, assignment, internal notes hidden from
customers, canned replies, merge, transcripts, other users' tickets not found, escaped HTML,
refused attachments leaving nothing stored, staff without 2FA refused, the audit trail."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from qianbao.identity import accounts as id_accounts
from qianbao.identity import sessions
from qianbao.support.tickets import service, staff
from qianbao.support.tickets.models import Ticket, TicketAttachment, TicketEvent, TicketMessage
from qianbao.wallet.models import WalletTransaction
from tests.support.identity import STRONG_PASSWORD, bearer, deliver, new_phone, sign_up

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    """Sign-up codes need real commits: every test here runs on a fresh database."""
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def staff_token(
    app: FastAPI, *, role: str = "support_agent", two_factor: bool = True
) -> tuple[str, uuid.UUID]:
    async with app.state.db.transaction() as s:
        user = await id_accounts.create_staff(
            s, app.state.identity, phone_raw=new_phone(), password=STRONG_PASSWORD, role=role,
            name=f"Agent {secrets.token_hex(2)}",
        )  # fmt: skip
        if two_factor:
            user.totp_enabled_at = app.state.identity.clock.now()
        new = await sessions.start(
            s, app.state.identity, user, kind="api", ip=None, user_agent=None, device_token=None
        )
    return new.token, user.id


async def form_token(client: httpx.AsyncClient, path: str, headers: dict) -> str:
    page = await client.get(path, headers=headers)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def user_id_of(app: FastAPI, token: str, client: httpx.AsyncClient) -> uuid.UUID:
    r = await client.get("/api/v1/me", headers=bearer(token))
    return uuid.UUID(r.json()["id"])


async def add_transaction(app: FastAPI, user_id: uuid.UUID) -> str:
    async with app.state.db.transaction() as s:
        tx = WalletTransaction(
            user_id=user_id, account_id=1, kind="topup", direction="in", status="completed",
            currency="CNY", amount=12_345, reference=f"R{secrets.token_hex(8)}",
        )  # fmt: skip
        s.add(tx)
        await s.flush()
        return str(tx.id)


async def counts(app: FastAPI) -> tuple[int, int, int]:
    async with app.state.db.session() as s:
        return tuple(  # type: ignore[return-value]
            [
                int((await s.execute(select(func.count()).select_from(m))).scalar_one())
                for m in (Ticket, TicketMessage, TicketAttachment)
            ]
        )


async def open_ticket(client: httpx.AsyncClient, token: str, **extra: object) -> dict:
    body = {
        "category": "topup",
        "subject": "Top-up not arrived",
        "body": "I paid 123.45 but my balance did not change.",
        "intake": {"amount": "123.45", "method": "card"},
        **extra,
    }
    r = await client.post("/api/v1/support/tickets", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_with_intake_and_own_transaction(client: httpx.AsyncClient, app: FastAPI):
    _, alice = await sign_up(client, app)
    _, bob = await sign_up(client, app)
    alice_tx = await add_transaction(app, await user_id_of(app, alice, client))
    bob_tx = await add_transaction(app, await user_id_of(app, bob, client))

    t = await open_ticket(client, alice, transaction_id=alice_tx)
    assert re.fullmatch(r"T\d{8}-\d{6}", t["reference"])
    assert t["status"] == "new" and t["priority"] == "normal"
    assert t["intake"] == {"amount": "123.45", "method": "card"}
    assert t["transaction_id"] == alice_tx
    assert [m["author"] for m in t["messages"]] == ["customer"]
    async with app.state.db.session() as s:  # the console names it by its reference
        ticket = (
            await s.execute(select(Ticket).where(Ticket.reference == t["reference"]))
        ).scalar_one()
        linked = await staff.linked_transaction(s, ticket)
        assert linked is not None and linked.reference.startswith("R") and linked.amount == 12_345

    before = await counts(app)
    r = await client.post(
        "/api/v1/support/tickets",
        json={"category": "topup", "subject": "x", "body": "y", "intake": {"amount": "1"},
              "transaction_id": bob_tx},
        headers={**bearer(alice), "Accept-Language": "en"},
    )  # fmt: skip
    assert r.status_code == 404
    assert r.json()["code"] == "wallet.transaction_not_found"
    for intake, problem in [
        ({}, "fill in every required field"),
        ({"amount": "lots"}, "enter the amount as a number"),
        ({"amount": "1", "colour": "red"}, "unknown field"),
        ({"amount": "1", "method": "cash"}, "choose one of the offered answers"),
    ]:
        r = await client.post(
            "/api/v1/support/tickets",
            json={"category": "topup", "subject": "x", "body": "y", "intake": intake},
            headers={**bearer(alice), "Accept-Language": "en"},
        )
        assert r.status_code == 422, r.text
        assert problem in r.json()["title"]
    assert await counts(app) == before
    # Security tickets start with a high priority.
    r = await client.post(
        "/api/v1/support/tickets",
        json={"category": "security", "subject": "Not me", "body": "A payment I did not make",
              "intake": {"incident": "unauthorized_payment"}},
        headers=bearer(alice),
    )  # fmt: skip
    assert r.json()["priority"] == "high"


async def test_other_users_ticket_is_not_found(client: httpx.AsyncClient, app: FastAPI):
    _, alice = await sign_up(client, app)
    _, bob = await sign_up(client, app)
    t = await open_ticket(client, alice)
    ref = t["reference"]
    for path in (f"/api/v1/support/tickets/{ref}", f"/api/v1/support/tickets/{ref}/transcript"):
        r = await client.get(path, headers=bearer(bob))
        assert r.status_code == 404
        assert r.json()["code"] == "tickets.not_found"
    r = await client.post(
        f"/api/v1/support/tickets/{ref}/messages", json={"body": "hi"}, headers=bearer(bob)
    )
    assert r.status_code == 404
    r = await client.get(f"/support/tickets/{ref}", headers=bearer(bob))
    assert r.status_code == 404
    assert [x["reference"] for x in (await client.get(
        "/api/v1/support/tickets", headers=bearer(bob))).json()] == []  # fmt: skip
    # A customer cannot use the staff endpoints.
    r = await client.get(f"/api/v1/support/tickets/staff/{ref}", headers=bearer(bob))
    assert r.status_code == 403 and r.json()["code"] == "tickets.staff_only"


async def test_staff_without_2fa_is_refused(client: httpx.AsyncClient, app: FastAPI):
    token, _ = await staff_token(app, two_factor=False)
    r = await client.get("/api/v1/support/tickets/staff/queue", headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["code"] == "identity.staff_needs_two_factor"
    r = await client.get("/console/tickets", headers=bearer(token))
    assert r.status_code == 403


async def test_agent_flow_notes_statuses_sla_assign_canned_and_audit(
    client: httpx.AsyncClient, app: FastAPI
):
    _, alice = await sign_up(client, app)
    agent, agent_id = await staff_token(app)
    t = await open_ticket(client, alice)
    ref = t["reference"]
    h = bearer(agent)

    r = await client.get("/api/v1/support/tickets/staff/queue?queue=unassigned", headers=h)
    assert ref in [x["reference"] for x in r.json()]
    r = await client.post(f"/api/v1/support/tickets/staff/{ref}/assign",
                          json={"assignee_id": str(agent_id)}, headers=h)  # fmt: skip
    assert r.json()["assignee_id"] == str(agent_id)
    r = await client.get("/api/v1/support/tickets/staff/queue?queue=mine", headers=h)
    assert [x["reference"] for x in r.json()] == [ref]
    r = await client.post(f"/api/v1/support/tickets/staff/{ref}/assign",
                          json={"assignee_id": str(uuid.uuid4())}, headers=h)  # fmt: skip
    assert r.status_code == 422

    # An internal note: staff see it, the customer never does (API, page, transcript).
    r = await client.post(f"/api/v1/support/tickets/staff/{ref}/messages",
                          json={"body": "SECRET-NOTE check the acquirer", "internal": True},
                          headers=h)  # fmt: skip
    assert r.status_code == 201
    assert r.json()["status"] == "new" and r.json()["first_responded_at"] is None
    for path in (f"/api/v1/support/tickets/{ref}", f"/api/v1/support/tickets/{ref}/transcript",
                 f"/support/tickets/{ref}"):  # fmt: skip
        assert "SECRET-NOTE" not in (await client.get(path, headers=bearer(alice))).text

    # A canned reply; the answer waits for the customer and stops the SLA clock.
    canned = (await client.get("/api/v1/support/tickets/staff/canned", headers=h)).json()
    assert len(canned) >= 3
    r = await client.post("/api/v1/support/tickets/staff/canned",
                          json={"title": "Refund sent", "body_zh": "已退款。",
                                "body_en": "The refund is on its way."}, headers=h)  # fmt: skip
    assert r.status_code == 201
    r = await client.post("/api/v1/support/tickets/staff/canned",
                          json={"title": "Refund sent", "body_zh": "x", "body_en": "y"},
                          headers=h)  # fmt: skip
    assert r.status_code == 422
    r = await client.post(f"/api/v1/support/tickets/staff/{ref}/messages",
                          json={"body": canned[0]["body_en"]}, headers=h)  # fmt: skip
    body = r.json()
    assert body["status"] == "waiting" and body["first_responded_at"] is not None
    mine = (await client.get(f"/api/v1/support/tickets/{ref}", headers=bearer(alice))).json()
    assert [m["author"] for m in mine["messages"]] == ["customer", "agent"]
    assert mine["messages"][1]["body"] == canned[0]["body_en"]

    # The customer answers: open again. Resolved, then closed: a closed ticket takes no replies.
    r = await client.post(f"/api/v1/support/tickets/{ref}/messages", json={"body": "Still no"},
                          headers=bearer(alice))  # fmt: skip
    assert r.json()["status"] == "open"
    r = await client.post(f"/api/v1/support/tickets/staff/{ref}/priority",
                          json={"priority": "urgent"}, headers=h)  # fmt: skip
    assert r.json()["priority"] == "urgent"
    r = await client.post(f"/api/v1/support/tickets/staff/{ref}/status",
                          json={"status": "closed"}, headers=h)  # fmt: skip
    assert r.json()["status"] == "closed"
    r = await client.post(f"/api/v1/support/tickets/{ref}/messages", json={"body": "Hello?"},
                          headers={**bearer(alice), "Accept-Language": "en"})  # fmt: skip
    assert r.status_code == 409 and "closed" in r.json()["title"]
    r = await client.post(f"/api/v1/support/tickets/staff/{ref}/status",
                          json={"status": "open"}, headers=h)  # fmt: skip
    assert r.status_code == 409

    async with app.state.db.session() as s:
        ticket = await service.any_ticket(s, ref)
        actions = [e.action for e in await staff.audit(s, ticket)]
    assert actions[0] == "created"
    for action in ("viewed", "assigned", "note_added", "replied", "customer_replied",
                   "priority", "status"):  # fmt: skip
        assert action in actions
    assert actions.count("viewed") == 5  # every staff read is recorded (refusals roll back)


async def test_sla_clock_pauses_while_waiting(app: FastAPI, client: httpx.AsyncClient):
    _, alice = await sign_up(client, app)
    settings = app.state.settings
    from datetime import datetime

    from qianbao.kernel.clock import LOCAL_TZ

    monday_10 = datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL_TZ)
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_id(s, await user_id_of(app, alice, client))
        t = await service.create_for_user(
            s, settings, user,
            service.NewTicket(category="other", subject="SLA", body="clock"), now=monday_10,
        )  # fmt: skip
        # normal: first response 8 h, resolution 40 h (business hours)
        assert t.first_response_due == datetime(2026, 11, 23, 18, 0, tzinfo=LOCAL_TZ)
        assert t.resolution_due == datetime(2026, 11, 27, 14, 0, tzinfo=LOCAL_TZ)
        agent = await id_accounts.create_staff(
            s, app.state.identity, phone_raw=new_phone(), password=STRONG_PASSWORD,
            role="support_agent", name="Agent SLA",
        )  # fmt: skip
        await staff.reply(s, settings, agent, t, "Which card?", now=monday_10 + timedelta(hours=1))
        assert t.status == "waiting" and t.paused_at is not None
        # Waiting from Monday 11:00 to Tuesday 12:00 = 10 business hours: the due time moves.
        assert await staff.queue(s, agent, "breaching", now=monday_10 + timedelta(days=30)) == []
        await service.customer_reply(s, settings, user.id, t, "Visa",
                                     now=monday_10 + timedelta(hours=26))  # fmt: skip
        assert t.status == "open" and t.paused_at is None and t.paused_hours == 10.0
        assert t.resolution_due == datetime(2026, 11, 30, 15, 0, tzinfo=LOCAL_TZ)
        late = datetime(2026, 11, 30, 16, 0, tzinfo=LOCAL_TZ)
        assert t in await staff.queue(s, agent, "breaching", now=late)
        assert staff.breaching(t, late)


async def test_merge_moves_messages_and_closes_source(client: httpx.AsyncClient, app: FastAPI):
    _, alice = await sign_up(client, app)
    _, bob = await sign_up(client, app)
    agent, _ = await staff_token(app)
    a1 = (await open_ticket(client, alice, subject="First"))["reference"]
    a2 = (await open_ticket(client, alice, subject="Second"))["reference"]
    b1 = (await open_ticket(client, bob, subject="Bob's"))["reference"]
    h = {**bearer(agent), "Accept-Language": "en"}
    r = await client.post(f"/api/v1/support/tickets/staff/{a2}/merge", json={"target": b1},
                          headers=h)  # fmt: skip
    assert r.status_code == 409 and "different customers" in r.json()["title"]
    r = await client.post(f"/api/v1/support/tickets/staff/{a2}/merge", json={"target": a2},
                          headers=h)  # fmt: skip
    assert r.status_code == 409
    r = await client.post(f"/api/v1/support/tickets/staff/{a2}/merge", json={"target": a1},
                          headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["reference"] == a1
    assert [m["author"] for m in r.json()["messages"]] == ["customer", "customer"]
    src = (await client.get(f"/api/v1/support/tickets/{a2}", headers=bearer(alice))).json()
    assert src["status"] == "closed" and src["merged_into"] == a1
    assert [m["author"] for m in src["messages"]] == ["system"]
    page = await client.get(f"/support/tickets/{a2}", headers=bearer(alice))
    assert f'href="/support/tickets/{a1}"' in page.text


async def test_transcript_download_and_email(client: httpx.AsyncClient, app: FastAPI):
    _, alice = await sign_up(client, app)
    t = await open_ticket(client, alice)
    ref = t["reference"]
    r = await client.get(f"/support/tickets/{ref}/transcript.txt",
                         headers={**bearer(alice), "Accept-Language": "en"})  # fmt: skip
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="{ref}.txt"'
    assert r.text.startswith(f"Ticket {ref}: Top-up not arrived\n")
    assert "I paid 123.45" in r.text
    r = await client.post(f"/api/v1/support/tickets/{ref}/transcript/email",
                          headers={**bearer(alice), "Accept-Language": "en"})  # fmt: skip
    assert r.status_code == 409 and r.json()["code"] == "tickets.no_email"
    uid = await user_id_of(app, alice, client)
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_id(s, uid)
        user.email = f"alice-{secrets.token_hex(3)}@example.com"
        user.email_verified_at = user.created_at
        address = user.email
    r = await client.post(f"/api/v1/support/tickets/{ref}/transcript/email", headers=bearer(alice))
    assert r.status_code == 202 and r.json() == {"sent_to": address}
    await deliver(app)
    import email
    from email import policy
    from pathlib import Path

    files = sorted(Path(app.state.settings.email.outbox_dir).glob("*.eml"))
    msgs = [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    sent = [m for m in msgs if m["To"] == address]
    assert len(sent) == 1 and ref in str(sent[0]["Subject"])
    assert [a.get_filename() for a in sent[0].iter_attachments()] == [f"{ref}.txt"]


async def test_html_is_escaped_and_bad_attachments_store_nothing(
    client: httpx.AsyncClient, app: FastAPI
):
    _, alice = await sign_up(client, app)
    h = {**bearer(alice), "Accept-Language": "en"}
    page = await client.get("/support/tickets/new?category=topup", headers=h)
    assert page.status_code == 200 and 'name="intake_amount"' in page.text
    form = {"category": "topup", "intake_amount": "5", "subject": "<b>bold</b>",
            "body": "<script>alert('x')</script> & more",
            "csrf_token": await form_token(client, "/support/tickets/new", h)}  # fmt: skip
    before = await counts(app)
    for files, expected in [
        ([("files", ("virus.png", b"MZ\x90\x00binary", "image/png"))], "was refused"),
        ([("files", ("big.png", PNG + b"\x00" * 6_000_000, "image/png"))], "is too large"),
    ]:
        r = await client.post("/support/tickets/new", data=form, files=files, headers=h)
        assert r.status_code == 422, r.text[:300]
        assert expected in r.text
        assert await counts(app) == before  # nothing half-stored
    r = await client.post("/support/tickets/new", data=form,
                          files=[("files", ("screen.png", PNG, "image/png"))], headers=h)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    ref = r.headers["location"].split("/")[-1].split("?")[0]
    page = await client.get(f"/support/tickets/{ref}", headers=h)
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    found = re.search(rf'href="(/support/tickets/{ref}/attachments/[^"]+)"', page.text)
    assert found
    r = await client.get(found.group(1), headers=h)
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    _, bob = await sign_up(client, app)
    assert (await client.get(found.group(1), headers=bearer(bob))).status_code == 404


async def test_console_pages(client: httpx.AsyncClient, app: FastAPI):
    _, alice = await sign_up(client, app)
    agent, _ = await staff_token(app)
    ref = (await open_ticket(client, alice, body="<i>hi</i>"))["reference"]
    h = {**bearer(agent), "Accept-Language": "en"}
    r = await client.get("/console/tickets?queue=unassigned", headers=h)
    assert r.status_code == 200 and ref in r.text
    r = await client.get(f"/console/tickets/{ref}", headers=h)
    assert r.status_code == 200 and "&lt;i&gt;hi&lt;/i&gt;" in r.text
    csrf = await form_token(client, "/console/tickets", h)
    r = await client.post(f"/console/tickets/{ref}/reply",
                          data={"body": "Noted internally", "internal": "on", "csrf_token": csrf},
                          headers=h)  # fmt: skip
    assert r.status_code == 303
    r = await client.post(
        f"/console/tickets/{ref}/assign", data={"assignee": "me", "csrf_token": csrf}, headers=h
    )
    assert r.status_code == 303
    r = await client.get("/console/tickets?queue=mine", headers=h)
    assert ref in r.text
    async with app.state.db.session() as s:
        n = (await s.execute(select(func.count()).select_from(TicketEvent))).scalar_one()
        # The staff reads and actions are also in the console's audit log (E9).
        from qianbao.support.console.models import AuditEntry

        actions = set(
            (
                await s.execute(select(AuditEntry.action).where(AuditEntry.object_id == ref))
            ).scalars()
        )
    assert n > 0
    assert {"ticket.viewed", "ticket.note_added", "ticket.assigned"} <= actions, actions
    r = await client.post(f"/console/tickets/{ref}/merge", data={"target": "T00000000-000000", "csrf_token": csrf},
                          headers=h)  # fmt: skip
    assert r.status_code == 409 and "no ticket with this reference" in r.text


@pytest.mark.parametrize("role", ["user"])
async def test_customer_cannot_open_console(client: httpx.AsyncClient, app: FastAPI, role: str):
    _, alice = await sign_up(client, app)
    r = await client.get("/console/tickets", headers=bearer(alice))
    assert r.status_code == 403
