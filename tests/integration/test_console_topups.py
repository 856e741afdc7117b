"""Agents act on a stuck top-up (issue 20). Re-query: the sandbox provider's answer is applied
as its callback would be — credited once, however often asked, and the callback arriving later
changes nothing; a declined payment fails. Manual credit by four eyes: the proposer cannot
approve; an approval posts one ledger entry (balances exact) and the customer is told as for any
top-up; of two approvals at once exactly one credits; a rejection changes nothing; the provider's
late success after a manual credit (also of an expired top-up) credits nothing again."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from qianbao.kernel.clock import TestClock
from qianbao.support.console.models import AuditEntry
from qianbao.support.console.models_topups import TopupCredit
from qianbao.wallet import topup as wallet_topup
from qianbao.wallet.models import Topup
from tests.integration.test_console import staff_member
from tests.support.identity import bearer, deliver, e164, sms_messages
from tests.support.wallet import (
    CARD_DECLINED,
    CARD_OK,
    PIN,
    balance,
    bind_card,
    key,
    ready_user,
    system_balance,
)


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def _pending_topup(client, app, number=CARD_OK, amount="100.00"):
    phone, token, user_id = await ready_user(client, app)
    card = await bind_card(client, app, phone, token, number)
    r = await client.post(
        "/api/v1/wallet/topups",
        json={"card_id": card, "amount": amount, "currency": "CNY", "pin": PIN},
        headers={**bearer(token), **key()},
    )
    assert r.status_code == 201, r.text
    topup = r.json()
    tx = await client.get(
        f"/api/v1/wallet/transactions/{topup['transaction_id']}", headers=bearer(token)
    )
    topup["reference"] = tx.json()["reference"]  # the 18-digit reference agents see
    assert len(topup["reference"]) == 18
    return phone, token, user_id, topup


def _payment_id(topup: dict) -> str:
    return topup["confirmation_url"].rsplit("/", 1)[1]


async def _confirm_at_bank(client, topup):
    """The customer confirms at the sandbox bank; its callback is queued but not delivered."""
    r = await client.post(f"/api/v1/sandbox/payments/{_payment_id(topup)}/confirm")
    assert r.status_code == 200, r.text
    return r.json()["status"]


async def _topup_entries(app, topup_id) -> int:
    async with app.state.db.transaction() as s:
        return int(
            await s.scalar(
                text("SELECT count(*) FROM ledger_entries WHERE metadata->>'topup' = :t"),
                {"t": topup_id},
            )
        )


async def _topup(app, topup_id) -> Topup:
    async with app.state.db.transaction() as s:
        row = await s.get(Topup, uuid.UUID(topup_id))
        assert row is not None
        return row


async def _requery(client, token, topup_id):
    return await client.post(f"/api/v1/support/topups/{topup_id}/requery", headers=bearer(token))


async def _propose(
    client,
    token,
    topup_id,
    reason="客户称已扣款，银行流水可见",
    evidence="银行短信：扣款 100.00 元",
):
    return await client.post(
        f"/api/v1/support/topups/{topup_id}/credits",
        json={"reason": reason, "evidence": evidence},
        headers=bearer(token),
    )


async def _decide(client, token, credit_id, decision="approve", note=""):
    return await client.post(
        f"/api/v1/support/topup-credits/{credit_id}/{decision}",
        json={"note": note},
        headers=bearer(token),
    )


async def test_requery_credits_once_and_the_late_callback_changes_nothing(client, app):
    phone, token, _, topup = await _pending_topup(client, app)
    agent, _ = await staff_member(app)
    clearing = await system_balance(app, "bank_clearing", "card")
    assert await _confirm_at_bank(client, topup) == "succeeded"

    # Before the customer's bank answered, the provider says "open": nothing changes.
    r = await _requery(client, agent, topup["id"])
    assert r.status_code == 200, r.text
    assert r.json()["answer"] == "succeeded" and r.json()["before"] == "pending"
    assert r.json()["topup"]["status"] == "succeeded"
    assert r.json()["topup"]["reference"] == topup["reference"]
    assert await balance(client, token) == ("100.00", "0.00")

    again = await _requery(client, agent, topup["id"])
    assert again.status_code == 409 and again.json()["code"] == "console.topup_not_stuck"
    await deliver(app)  # the provider's own callback arrives late
    assert await balance(client, token) == ("100.00", "0.00")
    assert await _topup_entries(app, topup["id"]) == 1
    assert await system_balance(app, "bank_clearing", "card") == clearing - 10_000
    assert any("100.00" in m for m in sms_messages(app, e164(phone)))  # the normal notice
    async with app.state.db.transaction() as s:
        rows = (
            (await s.execute(select(AuditEntry).where(AuditEntry.action == "topup.requeried")))
            .scalars()
            .all()
        )
    assert [(e.details["answer"], e.details["after"]) for e in rows] == [("succeeded", "succeeded")]
    assert rows[0].object_id == topup["reference"]


async def test_requery_of_an_open_payment_changes_nothing(client, app):
    _, token, _, topup = await _pending_topup(client, app)
    agent, _ = await staff_member(app)
    r = await _requery(client, agent, topup["id"])
    assert r.status_code == 200 and r.json()["answer"] == "open"
    assert r.json()["topup"]["status"] == "pending"
    assert await balance(client, token) == ("0.00", "0.00")


async def test_requery_of_a_declined_payment_fails_it(client, app):
    _, token, _, topup = await _pending_topup(client, app, number=CARD_DECLINED)
    agent, _ = await staff_member(app)
    assert await _confirm_at_bank(client, topup) == "declined"
    r = await _requery(client, agent, topup["id"])
    assert r.status_code == 200 and r.json()["answer"] == "declined"
    row = await _topup(app, topup["id"])
    assert (row.status, row.failure) == ("failed", "declined")
    await deliver(app)
    assert await balance(client, token) == ("0.00", "0.00")
    assert await _topup_entries(app, topup["id"]) == 0


async def test_customers_cannot_requery(client, app):
    _, token, _, topup = await _pending_topup(client, app)
    r = await _requery(client, token, topup["id"])
    assert r.status_code == 403


async def test_manual_credit_needs_a_second_approver_and_credits_once(client, app):
    phone, token, user_id, topup = await _pending_topup(client, app)
    agent, agent_id = await staff_member(app)
    supervisor, supervisor_id = await staff_member(app, role="supervisor")
    clearing = await system_balance(app, "bank_clearing", "card")
    fees = await system_balance(app, "fee_revenue")

    r = await _propose(client, agent, topup["id"])
    assert r.status_code == 201, r.text
    credit = r.json()
    assert credit["amount"] == {"amount": "100.00", "currency": "CNY"}
    assert credit["status"] == "pending" and credit["reference"] == topup["reference"]
    twice = await _propose(client, agent, topup["id"])
    assert twice.status_code == 409 and twice.json()["code"] == "console.topup_credit_pending"

    # The proposer cannot approve; another agent (not a supervisor) cannot either.
    own = await _decide(client, agent, credit["id"])
    assert own.status_code == 403 and own.json()["code"] == "console.topup_credit_same_approver"
    other_agent, _ = await staff_member(app)
    r = await _decide(client, other_agent, credit["id"])
    assert r.status_code == 403
    assert await balance(client, token) == ("0.00", "0.00")
    queue = await client.get("/api/v1/support/topup-credits", headers=bearer(supervisor))
    assert [c["id"] for c in queue.json()] == [credit["id"]]

    r = await _decide(client, supervisor, credit["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["outcome"] == "succeeded"
    assert r.json()["decided_by"] == str(supervisor_id)
    assert await balance(client, token) == ("100.00", "0.00")
    assert await _topup_entries(app, topup["id"]) == 1
    assert await system_balance(app, "bank_clearing", "card") == clearing - 10_000
    assert await system_balance(app, "fee_revenue") == fees
    again = await _decide(client, supervisor, credit["id"])
    assert again.status_code == 409 and again.json()["code"] == "console.topup_credit_decided"

    # The provider's success arrives later: recognised, nothing credited again.
    assert await _confirm_at_bank(client, topup) == "succeeded"
    await deliver(app)
    assert await balance(client, token) == ("100.00", "0.00")
    assert await _topup_entries(app, topup["id"]) == 1
    assert any("100.00" in m for m in sms_messages(app, e164(phone)))
    async with app.state.db.transaction() as s:
        actions = [
            (e.action, e.actor_id)
            for e in (
                await s.execute(
                    select(AuditEntry)
                    .where(AuditEntry.action.like("topup.credit%"))
                    .order_by(AuditEntry.id)
                )
            ).scalars()
        ]
    assert actions == [
        ("topup.credit_proposed", agent_id),
        ("topup.credit_approved", supervisor_id),
    ]
    assert user_id


async def test_two_approvals_at_once_credit_once(client, app):
    _, token, _, topup = await _pending_topup(client, app)
    agent, _ = await staff_member(app)
    first, _ = await staff_member(app, role="supervisor")
    second, _ = await staff_member(app, role="admin")
    credit = (await _propose(client, agent, topup["id"])).json()
    answers = await asyncio.gather(
        _decide(client, first, credit["id"]), _decide(client, second, credit["id"])
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert await balance(client, token) == ("100.00", "0.00")
    assert await _topup_entries(app, topup["id"]) == 1


async def test_a_rejection_changes_nothing(client, app):
    _, token, _, topup = await _pending_topup(client, app)
    agent, _ = await staff_member(app)
    supervisor, _ = await staff_member(app, role="supervisor")
    clearing = await system_balance(app, "bank_clearing", "card")
    credit = (await _propose(client, agent, topup["id"])).json()
    no_reason = await _decide(client, supervisor, credit["id"], "reject")
    assert no_reason.status_code == 422
    r = await _decide(client, supervisor, credit["id"], "reject", note="银行流水未见扣款")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["decision_note"] == "银行流水未见扣款"
    assert await balance(client, token) == ("0.00", "0.00")
    assert await system_balance(app, "bank_clearing", "card") == clearing
    assert await _topup_entries(app, topup["id"]) == 0
    row = await _topup(app, topup["id"])
    assert (row.status, row.failure, row.entry_id) == ("pending", None, None)
    late = await _decide(client, supervisor, credit["id"])
    assert late.status_code == 409
    # A new proposal may follow a rejected one.
    assert (await _propose(client, agent, topup["id"])).status_code == 201


async def test_expired_top_up_credited_by_hand_then_late_provider_success(
    client, app, clock: TestClock
):
    _, token, _, topup = await _pending_topup(client, app)
    agent, _ = await staff_member(app)
    supervisor, _ = await staff_member(app, role="supervisor")
    clock.advance(hours=2)
    async with app.state.db.transaction() as s:
        assert await wallet_topup.expire_stale(s, 30) == 1
    row = await _topup(app, topup["id"])
    assert (row.status, row.failure) == ("failed", "expired")
    listed = await client.get(
        f"/api/v1/support/customers/{row.user_id}/topups", headers=bearer(agent)
    )
    assert [(t["reference"], t["stuck"]) for t in listed.json()] == [(topup["reference"], True)]

    credit = (await _propose(client, agent, topup["id"])).json()
    r = await _decide(client, supervisor, credit["id"])
    assert r.status_code == 200 and r.json()["outcome"] == "succeeded"
    assert await balance(client, token) == ("100.00", "0.00")
    # The customer did pay in the end: the provider's late success credits nothing again.
    assert await _confirm_at_bank(client, topup) == "succeeded"
    await deliver(app)
    r = await _requery(client, agent, topup["id"])
    assert r.status_code == 409
    assert await balance(client, token) == ("100.00", "0.00")
    assert await _topup_entries(app, topup["id"]) == 1
    async with app.state.db.transaction() as s:
        approved = await s.scalar(
            select(func.count()).select_from(TopupCredit).where(TopupCredit.status == "approved")
        )
    assert approved == 1


async def test_an_approval_after_the_provider_settled_is_refused(client, app):
    _, token, _, topup = await _pending_topup(client, app)
    agent, _ = await staff_member(app)
    supervisor, _ = await staff_member(app, role="supervisor")
    credit = (await _propose(client, agent, topup["id"])).json()
    await _confirm_at_bank(client, topup)
    await deliver(app)  # the callback came first
    assert await balance(client, token) == ("100.00", "0.00")
    r = await _decide(client, supervisor, credit["id"])
    assert r.status_code == 409 and r.json()["code"] == "console.topup_not_stuck"
    assert await balance(client, token) == ("100.00", "0.00")
    assert await _topup_entries(app, topup["id"]) == 1


async def test_the_pages_customer_cards_requery_propose_and_approve(client, app):
    """The customer page shows the bound card masked (never the number) and the stuck top-up by
    its reference; the agent proposes from there; the supervisor approves on /console/topups."""
    from tests.integration.test_console import csrf

    _, token, user_id, topup = await _pending_topup(client, app)
    agent, _ = await staff_member(app, name="王芳")
    supervisor, _ = await staff_member(app, role="supervisor", name="李主管")
    a_headers, s_headers = bearer(agent), bearer(supervisor)
    page = await client.get(f"/console/customers/{user_id}", headers=a_headers)
    assert page.status_code == 200, page.text[:500]
    assert "•••• 4242" in page.text and "银联" in page.text
    assert CARD_OK not in page.text
    assert topup["reference"] in page.text and f"/console/topups/{topup['id']}/requery" in page.text
    async with app.state.db.transaction() as s:
        viewed = (
            (
                await s.execute(
                    select(AuditEntry)
                    .where(AuditEntry.action == "customer.viewed")
                    .order_by(AuditEntry.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert viewed is not None and viewed.details["cards"] == 1

    form = {"csrf_token": await csrf(client, a_headers), "customer": str(user_id)}
    r = await client.post(f"/console/topups/{topup['id']}/requery", data=form, headers=a_headers)
    assert r.status_code == 303 and r.headers["location"].endswith("notice=open#stuck-topups")
    short = await client.post(
        f"/console/topups/{topup['id']}/credit",
        data={**form, "reason": "客户已扣款", "evidence": "x"},
        headers=a_headers,
    )
    assert short.status_code == 422 and "•••• 4242" in short.text
    r = await client.post(
        f"/console/topups/{topup['id']}/credit",
        data={**form, "reason": "客户称已扣款", "evidence": "银行短信截图：扣款 100.00 元"},
        headers=a_headers,
    )
    assert r.status_code == 303, r.text[:300]

    queue = await client.get("/console/topups", headers=s_headers)
    assert topup["reference"] in queue.text and "银行短信截图" in queue.text
    credit_id = (await client.get("/api/v1/support/topup-credits", headers=s_headers)).json()[0][
        "id"
    ]
    own_queue = await client.get("/console/topups", headers=a_headers)
    assert f"/console/topup-credits/{credit_id}/approve" not in own_queue.text
    r = await client.post(
        f"/console/topup-credits/{credit_id}/approve",
        data={"csrf_token": await csrf(client, s_headers)},
        headers=s_headers,
    )
    assert r.status_code == 303
    assert await balance(client, token) == ("100.00", "0.00")
    page = await client.get(f"/console/customers/{user_id}", headers=a_headers)
    assert f"/console/topups/{topup['id']}/requery" not in page.text  # nothing stuck now


async def test_a_waiting_credit_closes_when_the_requery_settles_the_top_up(client, app):
    """The walk-through's stale proposal: proposed by hand, then the provider's answer credits
    the top-up — the proposal leaves the approvers' queue, closed with the reason."""
    _, token, _, topup = await _pending_topup(client, app)
    agent, _ = await staff_member(app)
    supervisor, _ = await staff_member(app, role="supervisor")
    proposed = await _propose(client, agent, topup["id"])
    assert proposed.status_code == 201, proposed.text
    assert await _confirm_at_bank(client, topup) == "succeeded"
    assert (await _requery(client, agent, topup["id"])).json()["topup"]["status"] == "succeeded"
    queue = await client.get("/api/v1/support/topup-credits", headers=bearer(supervisor))
    assert queue.status_code == 200, queue.text
    assert [c for c in queue.json() if c["topup_id"] == topup["id"]] == []
    late = await _decide(client, supervisor, proposed.json()["id"])
    assert late.status_code == 409 and late.json()["code"] == "console.topup_credit_decided"
    assert await balance(client, token) == ("100.00", "0.00")
    assert await _topup_entries(app, topup["id"]) == 1
