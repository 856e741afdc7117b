"""The agent console's customer side on a real database: the customer context and its audit
entry, staff without two-step verification and customers refused, freezing with a reason (the
ledger accounts freeze too), escalations, a help article in the customer's inbox, the append-only
audit log, CSAT ratings (owner only, once, after resolution) and report figures on known data."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from qianbao.identity import accounts as id_accounts
from qianbao.identity import security, sessions
from qianbao.identity.errors import StaffNeedsTwoFactor
from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.notifications import inbox
from qianbao.support.chat.models import ChatConversation, ChatMessage
from qianbao.support.console import audit, context, reports
from qianbao.support.console.errors import ConsoleStaffOnly, SupervisorsOnly
from qianbao.support.console.models import AuditEntry, Escalation, Rating
from qianbao.support.tickets import staff as ticket_staff
from qianbao.support.tickets.models import Ticket
from qianbao.wallet.models import WalletTransaction
from tests.support.identity import STRONG_PASSWORD, bearer, new_phone, sign_up
from tests.support.wallet import fund


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    """Sign-up codes need real commits: every test here runs on a fresh database."""
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def staff_member(
    app: FastAPI, *, role: str = "support_agent", two_factor: bool = True, name: str | None = None
) -> tuple[str, uuid.UUID]:
    async with app.state.db.transaction() as s:
        user = await id_accounts.create_staff(
            s, app.state.identity, phone_raw=new_phone(), password=STRONG_PASSWORD, role=role,
            name=name or f"Agent {secrets.token_hex(2)}",
        )  # fmt: skip
        if two_factor:
            user.totp_enabled_at = app.state.identity.clock.now()
        new = await sessions.start(
            s, app.state.identity, user, kind="api", ip=None, user_agent=None, device_token=None
        )
    return new.token, user.id


async def customer(client: httpx.AsyncClient, app: FastAPI, minor: int = 0) -> tuple[str, User]:
    phone, token = await sign_up(client, app, real_name="李雷")
    user = await fund(app, phone, minor, tier=1)
    return token, user


async def csrf(client: httpx.AsyncClient, headers: dict) -> str:
    page = await client.get("/console", headers=headers)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


async def open_ticket(client: httpx.AsyncClient, token: str, category: str = "other") -> str:
    r = await client.post(
        "/api/v1/support/tickets",
        json={"category": category, "subject": "Help please", "body": "Something is off.",
              "intake": {}},
        headers=bearer(token),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["reference"]


async def audit_rows(app: FastAPI, **where: object) -> list[AuditEntry]:
    async with app.state.db.session() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        return list((await s.execute(stmt)).scalars())


async def test_context_contents_and_audit(client: httpx.AsyncClient, app: FastAPI):
    token, alice = await customer(client, app, minor=12_345)
    ref = await open_ticket(client, token)
    async with app.state.db.transaction() as s:
        for i in range(22):
            s.add(WalletTransaction(
                user_id=alice.id, account_id=1, kind="topup", direction="in",
                status="completed", currency="CNY", amount=100 + i, reference=f"R{i:04d}x",
                created_at=app.state.clock.now() - timedelta(minutes=30 - i),
            ))  # fmt: skip
    _, agent_id = await staff_member(app)

    async with app.state.db.transaction() as s:
        agent = await s.get(User, agent_id)
        ctx = await context.customer_context(s, agent, alice.id, ip="198.51.100.9")
    assert ctx.verified is True and ctx.name == "李雷" and ctx.kyc_tier == 1
    assert ctx.phone_masked.endswith(alice.phone[-4:]) and "****" in ctx.phone_masked
    assert ctx.frozen is False
    assert [(b.currency, b.available) for b in ctx.balances] == [("CNY", 12_345)]
    assert len(ctx.transactions) == 20 and ctx.transactions[0].amount == 121  # newest first
    assert [t.reference for t in ctx.open_tickets] == [ref]
    assert "signed_up" in [e.kind for e in ctx.security_events]
    rows = await audit_rows(app, action="customer.viewed")
    assert [(r.actor_id, r.subject_user_id, r.object_kind, r.ip) for r in rows] == [
        (agent_id, alice.id, "user", "198.51.100.9")
    ]
    assert rows[0].details == {"transactions": 20, "tickets": 1, "cards": 0}

    # The page shows the same and is audited too; search by phone, id and ticket reference.
    agent_token, _ = await staff_member(app)
    h = {**bearer(agent_token), "Accept-Language": "en"}
    r = await client.get(f"/console/customers/{alice.id}", headers=h)
    assert r.status_code == 200
    assert "李雷" in r.text and ref in r.text and "R0021x" in r.text and "R0001x" not in r.text
    assert "¥123.45" in r.text and alice.phone not in r.text
    assert len(await audit_rows(app, action="customer.viewed")) == 2
    for q in (alice.phone, str(alice.id), ref):
        r = await client.get("/console/customers", params={"q": q}, headers=h)
        assert r.status_code == 303 and r.headers["location"] == f"/console/customers/{alice.id}"
    r = await client.get("/console/customers", params={"q": "+8613900000000"}, headers=h)
    assert r.status_code == 200 and "No customer matches" in r.text
    searches = await audit_rows(app, action="customer.searched")
    assert [s.details["by"] for s in searches] == ["phone", "user_id", "ticket", "phone"]
    r = await client.get(f"/console/customers/{uuid.uuid4()}", headers=h)
    assert r.status_code == 404

    # The same context inside a ticket's view: the ticket page loads the panel (HTMX), which is
    # the context block alone, audited like the page.
    r = await client.get(f"/console/tickets/{ref}", headers=h)
    assert f"/console/customers/{alice.id}/context" in r.text
    r = await client.get(f"/console/customers/{alice.id}/context", headers=h)
    assert r.status_code == 200 and "<html" not in r.text
    assert "¥123.45" in r.text and "R0021x" in r.text and 'id="customer-actions"' not in r.text
    assert len(await audit_rows(app, action="customer.viewed")) == 3
    assert (
        await client.get(f"/console/customers/{alice.id}/context", headers=bearer(token))
    ).status_code == 403


async def test_customers_and_agents_without_two_factor_are_refused(
    client: httpx.AsyncClient, app: FastAPI
):
    token, alice = await customer(client, app)
    no2fa_token, no2fa_id = await staff_member(app, two_factor=False)
    for headers in (bearer(token), bearer(no2fa_token)):
        for path in (f"/console/customers/{alice.id}", f"/console/customers/{alice.id}/context",
                     "/console", "/console/audit",
                     "/console/reports", "/api/v1/support/reports"):  # fmt: skip
            r = await client.get(path, headers=headers)
            assert r.status_code == 403, (path, r.status_code)
    r = await client.get("/console/customers/" + str(alice.id))
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    async with app.state.db.transaction() as s:
        with pytest.raises(StaffNeedsTwoFactor):
            await context.customer_context(s, await s.get(User, no2fa_id), alice.id)
        with pytest.raises(ConsoleStaffOnly):
            await context.customer_context(s, await s.get(User, alice.id), alice.id)
    assert await audit_rows(app) == []
    # Agents are not supervisors: no audit log, reports or escalation queue.
    agent_token, agent_id = await staff_member(app)
    for path in ("/console/audit", "/console/reports", "/console/escalations"):
        assert (await client.get(path, headers=bearer(agent_token))).status_code == 403
    async with app.state.db.session() as s:
        with pytest.raises(SupervisorsOnly):
            await reports.build(s, await s.get(User, agent_id), date(2026, 3, 1),
                                date(2026, 3, 2), settings=app.state.settings)  # fmt: skip


async def test_freeze_with_a_reason_is_audited_and_freezes_the_ledger(
    client: httpx.AsyncClient, app: FastAPI
):
    _, alice = await customer(client, app, minor=5_000)
    agent_token, agent_id = await staff_member(app)
    h = {**bearer(agent_token), "Accept-Language": "en"}
    token = await csrf(client, h)
    r = await client.post(f"/console/customers/{alice.id}/freeze",
                          data={"reason": "no", "csrf_token": token}, headers=h)  # fmt: skip
    assert r.status_code == 422 and "Give a reason" in r.text
    async with app.state.db.session() as s:
        assert (await s.get(User, alice.id)).frozen_at is None
    assert await audit_rows(app, action="customer.frozen") == []

    reason = "Customer called: phone stolen"
    r = await client.post(f"/console/customers/{alice.id}/freeze",
                          data={"reason": reason, "csrf_token": token}, headers=h)  # fmt: skip
    assert r.status_code == 303, r.text
    async with app.state.db.session() as s:
        user = await s.get(User, alice.id)
        assert user.frozen_at is not None and user.frozen_reason == reason
        assert user.frozen_by == agent_id
        ledger = await Ledger.of_session(s)
        owned = await ledger_accounts.accounts_of_owner(ledger.conn, alice.id)
        assert owned and {a.status for a in owned} == {"frozen"}
    rows = await audit_rows(app, action="customer.frozen")
    assert [(r.actor_id, r.subject_user_id, r.details["reason"]) for r in rows] == [
        (agent_id, alice.id, reason)
    ]
    r = await client.get(f"/console/customers/{alice.id}", headers=h)
    assert "Froze the account" in r.text and reason in r.text
    # Without the CSRF token nothing happens.
    r = await client.post(f"/console/customers/{alice.id}/freeze", data={"reason": reason},
                          headers=h)  # fmt: skip
    assert r.status_code == 403
    assert len(await audit_rows(app, action="customer.frozen")) == 1


async def test_unfreeze_is_for_supervisors_with_a_reason(client: httpx.AsyncClient, app: FastAPI):
    user_token, alice = await customer(client, app, minor=5_000)
    agent_token, agent_id = await staff_member(app)
    sup_token, sup_id = await staff_member(app, role="supervisor", name="Boss Zhao")
    # An agent freezes through the JSON API (audited like the page).
    r = await client.post(f"/api/v1/support/customers/{alice.id}/freeze",
                          json={"reason": "Caller says the phone was stolen"},
                          headers=bearer(agent_token))  # fmt: skip
    assert r.status_code == 204, r.text
    assert [a.actor_id for a in await audit_rows(app, action="customer.frozen")] == [agent_id]
    # The customer cannot lift a freeze made by support; an agent cannot either.
    r = await client.post("/api/v1/me/unfreeze", json={"password": STRONG_PASSWORD, "code": "000000"},
                          headers=bearer(user_token))  # fmt: skip
    assert r.status_code in (403, 409) and r.json()["code"] == "identity.frozen_by_support"
    r = await client.post(f"/api/v1/support/customers/{alice.id}/unfreeze",
                          json={"reason": "Customer insists"}, headers=bearer(agent_token))  # fmt: skip
    assert r.status_code == 403 and r.json()["code"] == "console.supervisors_only"
    h = {**bearer(agent_token), "Accept-Language": "en"}
    page = await client.get(f"/console/customers/{alice.id}", headers=h)
    assert "Only a supervisor can unfreeze" in page.text and "unfreeze-form" not in page.text
    r = await client.post(f"/console/customers/{alice.id}/unfreeze",
                          data={"reason": "Customer insists", "csrf_token": await csrf(client, h)},
                          headers=h)  # fmt: skip
    assert r.status_code == 403 and "Only supervisors" in r.text
    async with app.state.db.session() as s:
        assert (await s.get(User, alice.id)).frozen_at is not None

    hs = {**bearer(sup_token), "Accept-Language": "zh-CN"}
    page = await client.get(f"/console/customers/{alice.id}", headers=hs)
    assert "unfreeze-form" in page.text
    tok = await csrf(client, hs)
    r = await client.post(f"/console/customers/{alice.id}/unfreeze",
                          data={"reason": "ok", "csrf_token": tok}, headers=hs)  # fmt: skip
    assert r.status_code == 422
    async with app.state.db.session() as s:
        assert (await s.get(User, alice.id)).frozen_at is not None
    reason = "Video call, ID card matches, phone recovered"
    r = await client.post(f"/console/customers/{alice.id}/unfreeze",
                          data={"reason": reason, "csrf_token": tok}, headers=hs)  # fmt: skip
    assert r.status_code == 303, r.text
    page = await client.get(r.headers["location"], headers=hs)
    assert "账户已解冻" in page.text, page.text[:2000]
    async with app.state.db.session() as s:
        user = await s.get(User, alice.id)
        assert user.frozen_at is None and user.frozen_by is None
        ledger = await Ledger.of_session(s)
        owned = await ledger_accounts.accounts_of_owner(ledger.conn, alice.id)
        assert owned and {a.status for a in owned} == {"active"}
        # Unfreezing without the customer's password and code starts the cooling-off.
        assert await security.cooling_off_until(s, app.state.identity, alice.id) is not None
        kinds = [e.kind for e in await security.recent_events(s, alice.id)]
        assert kinds[0] == "account_unfrozen_by_staff"
    rows = await audit_rows(app, action="customer.unfrozen")
    assert [(r.actor_id, r.subject_user_id, r.details["reason"]) for r in rows] == [
        (sup_id, alice.id, reason)
    ]
    assert rows[0].details["frozen_reason"] == "Caller says the phone was stolen"
    # Money moves again; a second unfreeze is a clear conflict.
    r = await client.post(f"/api/v1/support/customers/{alice.id}/unfreeze",
                          json={"reason": reason}, headers=bearer(sup_token))  # fmt: skip
    assert r.status_code == 409 and r.json()["code"] == "identity.not_frozen"


async def test_escalation_to_a_supervisor(client: httpx.AsyncClient, app: FastAPI):
    token, alice = await customer(client, app)
    ref = await open_ticket(client, token)
    agent_token, agent_id = await staff_member(app, name="Agent Wang")
    sup_token, sup_id = await staff_member(app, role="supervisor", name="Boss Zhao")
    h = {**bearer(agent_token), "Accept-Language": "en"}
    r = await client.post(
        f"/console/customers/{alice.id}/escalate",
        data={"reason": "Asks for a refund we cannot give", "ticket": ref,
              "csrf_token": await csrf(client, h)},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 303
    async with app.state.db.session() as s:
        rows = list((await s.execute(select(Escalation))).scalars())
    assert [(e.user_id, e.from_agent_id, e.status) for e in rows] == [(alice.id, agent_id, "open")]
    hs = {**bearer(sup_token), "Accept-Language": "en"}
    r = await client.get("/console/escalations", headers=hs)
    assert r.status_code == 200 and ref in r.text and "Agent Wang" in r.text
    tok = await csrf(client, hs)
    r = await client.post(f"/console/escalations/{rows[0].id}/take", data={"csrf_token": tok},
                          headers=hs)  # fmt: skip
    assert r.status_code == 303
    r = await client.post(f"/console/escalations/{rows[0].id}/take", data={"csrf_token": tok},
                          headers=hs)  # fmt: skip
    assert r.status_code == 409 and "already been taken" in r.text
    async with app.state.db.session() as s:
        e = await s.get(Escalation, rows[0].id)
        assert (e.status, e.taken_by) == ("taken", sup_id)
    assert [r.action for r in await audit_rows(app, subject_user_id=alice.id)][-2:] == [
        "escalation.opened",
        "escalation.taken",
    ]


async def test_article_sent_appears_in_the_inbox(client: httpx.AsyncClient, app: FastAPI):
    token, alice = await customer(client, app)
    agent_token, _ = await staff_member(app)
    h = {**bearer(agent_token), "Accept-Language": "en"}
    tok = await csrf(client, h)
    r = await client.post(f"/console/customers/{alice.id}/article",
                          data={"slug": "no-such-article", "csrf_token": tok}, headers=h)  # fmt: skip
    assert r.status_code == 404 and "no published help article" in r.text
    r = await client.post(f"/console/customers/{alice.id}/article",
                          data={"slug": "fake-customer-service", "csrf_token": tok}, headers=h)  # fmt: skip
    assert r.status_code == 303
    async with app.state.db.session() as s:
        shown = await inbox.inbox(s, alice.id, "en")
        zh = await inbox.inbox(s, alice.id, "zh_CN")
    assert [(m.link, m.text) for m in shown] == [
        ("/help/fake-customer-service",
         "Customer service sent you a help article. Open this message to read it."),
    ]  # fmt: skip
    assert zh[0].text != shown[0].text  # in Chinese for a Chinese reader
    r = await client.get("/inbox", headers=bearer(token))
    assert r.status_code == 200 and "/help/fake-customer-service" in r.text
    rows = await audit_rows(app, action="article.sent")
    assert [(r.subject_user_id, r.object_id) for r in rows] == [(alice.id, "fake-customer-service")]


async def test_the_console_json_api(client: httpx.AsyncClient, app: FastAPI):
    token, alice = await customer(client, app, minor=12_345)
    ref = await open_ticket(client, token, category="other")
    agent_token, agent_id = await staff_member(app)
    sup_token, sup_id = await staff_member(app, role="supervisor")
    no2fa_token, _ = await staff_member(app, two_factor=False)
    ah, sh = bearer(agent_token), bearer(sup_token)
    # Find by phone number and by ticket reference; the context, as on the page.
    r = await client.get("/api/v1/support/customers", params={"q": alice.phone}, headers=ah)
    assert r.status_code == 200 and [f["user_id"] for f in r.json()] == [str(alice.id)]
    r = await client.get("/api/v1/support/customers", params={"q": ref}, headers=ah)
    assert r.json()[0]["ticket_reference"] == ref
    r = await client.get(f"/api/v1/support/customers/{alice.id}", headers=ah)
    assert r.status_code == 200, r.text
    c = r.json()
    assert (
        c["name"] == "李雷"
        and alice.phone not in str(c)
        and c["phone_masked"].endswith(alice.phone[-4:])
    )
    assert c["balances"] == [{"currency": "CNY", "available": {"amount": "123.45", "currency": "CNY"},
                              "pending": {"amount": "0.00", "currency": "CNY"}, "status": "active"}]  # fmt: skip
    assert [t["reference"] for t in c["open_tickets"]] == [ref]
    assert any(e["kind"] == "signed_up" for e in c["security_events"])
    # A help article and an escalation.
    r = await client.post(f"/api/v1/support/customers/{alice.id}/article",
                          json={"slug": "payment-pin"}, headers=ah)  # fmt: skip
    assert r.status_code == 201 and r.json() == {"link": "/help/payment-pin"}
    r = await client.post("/api/v1/support/escalations",
                          json={"reason": "Wants a refund", "ticket": ref}, headers=ah)  # fmt: skip
    assert r.status_code == 201 and r.json()["ticket"] == ref and r.json()["status"] == "open"
    esc = r.json()["id"]
    # Supervisors only: the queue, taking it, the audit log.
    for path in ("/api/v1/support/escalations", "/api/v1/support/audit"):
        r = await client.get(path, headers=ah)
        assert r.status_code == 403 and r.json()["code"] == "console.supervisors_only"
    r = await client.get("/api/v1/support/escalations", headers=sh)
    assert [(e["id"], e["ticket"], e["from_agent_id"]) for e in r.json()] == [
        (esc, ref, str(agent_id))
    ]
    r = await client.post(f"/api/v1/support/escalations/{esc}/take", headers=sh)
    assert r.status_code == 200 and r.json()["taken_by"] == str(sup_id)
    assert (
        await client.post(f"/api/v1/support/escalations/{esc}/take", headers=sh)
    ).status_code == 409
    r = await client.get("/api/v1/support/audit", params={"actor": str(agent_id)}, headers=sh)
    actions = [e["action"] for e in r.json()]
    assert {"customer.searched", "customer.viewed", "article.sent", "escalation.opened"} <= set(
        actions
    )
    # Nobody else: a customer, staff without two-step verification.
    for h in (bearer(token), bearer(no2fa_token)):
        r = await client.get(f"/api/v1/support/customers/{alice.id}", headers=h)
        assert r.status_code == 403


async def test_audit_rows_cannot_be_changed_or_deleted(app: FastAPI):
    actor = uuid.uuid4()
    async with app.state.db.transaction() as s:
        entry = await audit.record(s, actor, "customer.viewed", details={"x": 1})
        ident = entry.id
    for sql in (
        "UPDATE audit_log SET action = 'nothing' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with app.state.db.transaction() as s:
                await s.execute(text(sql), {"id": ident})
    rows = await audit_rows(app)
    assert [(r.id, r.action, r.details) for r in rows] == [(ident, "customer.viewed", {"x": 1})]


async def test_ratings_once_by_the_owner_after_resolution(client: httpx.AsyncClient, app: FastAPI):
    token, _ = await customer(client, app)
    bob_token, _ = await customer(client, app)
    ref = await open_ticket(client, token)
    url = f"/api/v1/support/tickets/{ref}/rating"
    h = {**bearer(token), "Accept-Language": "en"}
    r = await client.post(url, json={"score": 5}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "support.rating_refused"
    _, agent_id = await staff_member(app)
    async with app.state.db.transaction() as s:
        agent = await s.get(User, agent_id)
        ticket = await ticket_staff.view(s, agent, ref)
        await ticket_staff.set_status(s, app.state.settings, agent, ticket, "resolved")
    r = await client.post(url, json={"score": 4}, headers=bearer(bob_token))
    assert r.status_code == 404
    r = await client.post(url, json={"score": 6}, headers=h)
    assert r.status_code == 422
    r = await client.get(f"/support/tickets/{ref}", headers=h)
    assert 'hx-get="/support/ratings?ticket=' in r.text
    r = await client.get(f"/support/ratings?ticket={ref}", headers=h)
    assert r.status_code == 200 and 'name="score"' in r.text
    r = await client.post(url, json={"score": 4, "comment": "quick and kind"}, headers=h)
    assert r.status_code == 201 and r.json() == {
        "ticket": ref,
        "score": 4,
        "comment": "quick and kind",
    }
    r = await client.post(url, json={"score": 1}, headers=h)
    assert r.status_code == 409
    r = await client.get(f"/support/ratings?ticket={ref}", headers=h)
    assert "you rated this 4 out of 5" in r.text and 'name="score"' not in r.text
    async with app.state.db.session() as s:
        rows = list((await s.execute(select(Rating.score, Rating.comment))).all())
    assert rows == [(4, "quick and kind")]


def _ticket(n: int, *, category: str, created: datetime, agent: uuid.UUID | None,
            frt_min: int | None, res_min: int | None, user_id: uuid.UUID) -> Ticket:  # fmt: skip
    return Ticket(
        reference=f"T20260301-{n:06d}", user_id=user_id, subject=f"t{n}", category=category,
        status="resolved" if res_min is not None else "open", assignee_id=agent,
        first_response_due=created + timedelta(hours=8),
        resolution_due=created + timedelta(days=3),
        first_responded_at=created + timedelta(minutes=frt_min) if frt_min is not None else None,
        resolved_at=created + timedelta(minutes=res_min) if res_min is not None else None,
        created_at=created,
    )  # fmt: skip


async def test_report_figures_on_known_data(client: httpx.AsyncClient, app: FastAPI):
    _, alice = await customer(client, app)
    sup_token, sup_id = await staff_member(app, role="supervisor", name="Boss Zhao")
    _, a1 = await staff_member(app, name="Agent A")
    _, a2 = await staff_member(app, name="Agent B")
    _, a3 = await staff_member(app, name="Agent C")
    day = datetime(2026, 3, 2, 10, 0, tzinfo=LOCAL_TZ)
    async with app.state.db.transaction() as s:
        rows = [
            _ticket(1, category="topup", created=day, agent=a1, frt_min=60, res_min=120,
                    user_id=alice.id),
            _ticket(2, category="topup", created=day, agent=a1, frt_min=120, res_min=240,
                    user_id=alice.id),
            _ticket(3, category="withdrawal", created=day, agent=a2, frt_min=180, res_min=600,
                    user_id=alice.id),
            _ticket(4, category="other", created=day, agent=None, frt_min=240, res_min=None,
                    user_id=alice.id),
            _ticket(5, category="other", created=day, agent=None, frt_min=None, res_min=None,
                    user_id=alice.id),
            # outside the range: not counted
            _ticket(6, category="other", created=day - timedelta(days=40), agent=a1, frt_min=1,
                    res_min=2, user_id=alice.id),
        ]  # fmt: skip
        s.add_all(rows)
        await s.flush()
        for ticket, score in ((rows[0], 5), (rows[1], 4), (rows[2], 2)):
            s.add(Rating(ticket_id=ticket.id, user_id=alice.id, score=score,
                         created_at=day + timedelta(hours=12)))  # fmt: skip

        # Live chats: one taken at once by Agent A (rated 5), one queued 10 minutes for Agent
        # B, one for Agent C only (no tickets), one answered by the bot alone, one that became
        # a ticket; one outside the range.
        def chat(
            agent: uuid.UUID | None,
            *,
            queued: int | None = None,
            taken: int | None = None,
            reply: int | None = None,
            ticket: bool = False,
            when: datetime = day,
        ) -> Any:
            conv = ChatConversation(
                user_id=None, visitor_hash=secrets.token_bytes(16), status="closed",
                agent_id=agent, created_at=when, closed_at=when + timedelta(hours=1),
                queued_at=when + timedelta(minutes=queued) if queued is not None else None,
                assigned_at=when + timedelta(minutes=taken) if taken is not None else None,
                ticket_id=uuid.uuid4() if ticket else None,
            )  # fmt: skip
            s.add(conv)
            return conv, reply

        chats = [chat(a1, taken=1, reply=3), chat(a2, queued=2, taken=12, reply=14),
                 chat(a3, taken=5, reply=6), chat(None), chat(None, ticket=True),
                 chat(a1, taken=1, when=day - timedelta(days=40))]  # fmt: skip
        await s.flush()
        for conv, reply in chats:
            if reply is not None:
                s.add(ChatMessage(conversation_id=conv.id, sender="agent", body="hi",
                                  author_id=conv.agent_id,
                                  created_at=day + timedelta(minutes=reply)))  # fmt: skip
        s.add(Rating(conversation_id=chats[0][0].id, user_id=alice.id, score=5,
                     created_at=day + timedelta(hours=12)))  # fmt: skip
    async with app.state.db.session() as s:
        sup = await s.get(User, sup_id)
        r = await reports.build(s, sup, date(2026, 3, 1), date(2026, 3, 31),
                                settings=app.state.settings)  # fmt: skip
    assert r.tickets == 5
    assert r.first_response == reports.Durations(4, 150.0, 222.0)
    assert r.resolution == reports.Durations(3, 240.0, 528.0)
    # In business hours (09-18 on Monday 2 March): the 600-minute resolution (10:00 to 20:00)
    # counts 480 minutes. Every answer and resolution came in time; ticket 5 was never
    # answered and tickets 4 and 5 never resolved, all long past due.
    assert r.business is not None
    assert r.business.first_response == reports.Durations(4, 150.0, 222.0)
    assert r.business.resolution == reports.Durations(3, 240.0, 432.0)
    assert (r.business.first_response_sla.due, r.business.first_response_sla.met) == (5, 4)
    assert (r.business.resolution_sla.due, r.business.resolution_sla.met) == (5, 3)
    assert r.business.resolution_sla.percent == 60.0
    assert r.chat is not None
    assert (r.chat.conversations, r.chat.handed_off, r.chat.with_agent, r.chat.to_ticket,
            r.chat.bot_only) == (5, 4, 3, 1, 1)  # fmt: skip
    assert r.chat.wait == reports.Durations(3, 0.0, 8.0)  # 0, 0 and 10 minutes
    assert r.chat.first_reply == reports.Durations(3, 2.0, 2.0)
    assert (r.csat_count, r.csat_chat_count, r.csat_average) == (4, 1, 4.0)
    assert r.csat_by_score == {1: 0, 2: 1, 3: 0, 4: 1, 5: 2}
    assert r.by_category == [("other", 2), ("topup", 2), ("withdrawal", 1)]
    by_agent = {(a.name, a.tickets, a.resolved, a.median_first_response_minutes, a.csat_average,
                 a.csat_count, a.chats, a.median_chat_first_reply_minutes)
                for a in r.by_agent}  # fmt: skip
    assert by_agent == {
        ("Agent A", 2, 2, 90.0, 4.67, 3, 1, 2.0),
        ("Agent B", 1, 1, 180.0, 2.0, 1, 1, 2.0),
        ("Agent C", 0, 0, None, None, 0, 1, 1.0),
        (None, 2, 0, 240.0, None, 0, 0, None),
    }
    h = {**bearer(sup_token), "Accept-Language": "en"}
    r2 = await client.get("/api/v1/support/reports?start=2026-03-01&end=2026-03-31", headers=h)
    assert r2.status_code == 200, r2.text
    body = r2.json()
    assert body["first_response"] == {"count": 4, "median_minutes": 150.0, "p90_minutes": 222.0}
    assert body["csat_by_score"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}
    assert body["business_hours"]["resolution"]["p90_minutes"] == 432.0
    assert body["business_hours"]["first_response_sla"] == {"due": 5, "met": 4, "percent": 80.0}
    assert body["chat"]["with_agent"] == 3 and body["chat"]["wait"]["p90_minutes"] == 8.0
    page = await client.get("/console/reports?start=2026-03-01&end=2026-03-31", headers=h)
    assert page.status_code == 200
    assert "<svg" in page.text and "Agent A" in page.text and "4.67" in page.text
    assert 'id="chart-chat"' in page.text and "80.0% (4/5)" in page.text
    bad = await client.get("/console/reports?start=2026-03-31&end=2026-03-01", headers=h)
    assert bad.status_code == 422
    assert [e.action for e in await audit_rows(app, actor_id=sup_id)] == [
        "report.viewed",
        "report.viewed",
    ]
    # The audit page filters by action and staff member.
    r3 = await client.get(f"/console/audit?action=report.viewed&actor={sup_id}", headers=h)
    assert r3.status_code == 200 and r3.text.count("Viewed the reports") >= 2
    assert app.state.clock.now() > day
