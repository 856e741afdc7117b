"""Unauthorized-transaction claims (issue 15, D4): the claim holds what is left in the
recipient's wallet at once; an agent recommends, a different supervisor decides; the refund comes
from the held funds, the rest from the operator's loss account, each its own entry; a rejection
releases the hold and may be appealed once. Bad claims are refused and change nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from qianbao.disputes import review
from qianbao.disputes.errors import (
    AmountAboveClaim,
    ClaimInvalid,
    SamePerson,
    SupervisorsOnly,
    WrongStage,
)
from qianbao.disputes.models import Case
from qianbao.identity.models import User
from qianbao.kernel.money import Money
from qianbao.support.tickets.models import Ticket
from tests.integration.test_console import staff_member
from tests.support.identity import bearer, deliver, e164, sms_messages
from tests.support.wallet import PIN, balance, key, ready_user, system_balance


async def _sent(client, app, *, amount="300.00", minor=100_000):
    """Alice sends Bob ``amount``; returns (alice token, alice phone, bob token, bob phone, tx id)."""
    phone, alice, _ = await ready_user(client, app, minor=minor)
    bob_phone, bob, _ = await ready_user(client, app)
    r = await client.post(
        "/api/v1/wallet/transfers",
        json={"to": bob_phone, "amount": amount, "currency": "CNY", "pin": PIN},
        headers={**bearer(alice), **key()},
    )
    assert r.status_code == 201, r.text
    txs = (await client.get("/api/v1/wallet/transactions", headers=bearer(alice))).json()
    return alice, phone, bob, bob_phone, txs["transactions"][0]["id"]


async def _claim(client, token, tx_id, **extra):
    body = {"transaction_id": tx_id, "what_happened": "我没有转过这笔钱", "shared": "nothing"}
    return await client.post(
        "/api/v1/disputes/claims", json={**body, **extra}, headers=bearer(token)
    )


async def _staff(app: FastAPI, role: str) -> User:
    _, user_id = await staff_member(app, role=role)
    async with app.state.db.session() as s:
        return await s.get(User, user_id)


async def _recommend(app, agent, case_id, **kw):
    async with app.state.db.transaction() as s:
        return await review.recommend(s, app.state.settings, agent, case_id, **kw)


async def _decide(app, supervisor, case_id, **kw):
    async with app.state.db.transaction() as s:
        return await review.decide(s, app.state.settings, supervisor, case_id, **kw)


async def test_a_claim_holds_the_recipients_money_and_an_approved_refund_returns_it(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    alice, phone, bob, _, tx_id = await _sent(client, app)
    # Bob already spent 100 of the 300 elsewhere: 200 is left to hold.
    carol_phone, _, _ = await ready_user(client, app)
    r = await client.post(
        "/api/v1/wallet/transfers",
        json={"to": carol_phone, "amount": "100.00", "currency": "CNY", "pin": PIN},
        headers={**bearer(bob), **key()},
    )
    assert r.status_code == 201
    r = await _claim(client, alice, tx_id, freeze=True)
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["status"], case["claimed"], case["held"]) == ("open", "300.00", "200.00")
    assert [e["kind"] for e in case["timeline"]] == ["opened", "held", "frozen"]
    assert await balance(client, bob) == ("0.00", "200.00")  # held: Bob cannot spend it
    me = (await client.get("/api/v1/me", headers=bearer(alice))).json()
    assert me["frozen"] is True
    # Told in the app and by SMS; a ticket linked to the transaction is opened.
    await deliver(app)
    assert any(case["reference"] in m for m in sms_messages(app, e164(phone)))
    async with app.state.db.session() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
        stored = await s.get(Case, uuid.UUID(case["id"]))
    assert str(ticket.transaction_id) == tx_id and stored.ticket_reference == ticket.reference
    # A second claim on the same transaction is refused.
    r = await _claim(client, alice, tx_id)
    assert r.status_code == 409 and r.json()["code"] == "disputes.already_claimed"

    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    with pytest.raises(AmountAboveClaim):
        await _recommend(app, agent, case["id"], refund=True, amount=Money(30001, "CNY"), note="x")
    await _recommend(app, agent, case["id"], refund=True, amount=None, note="New device, no code")
    with pytest.raises(SupervisorsOnly):
        await _decide(app, agent, case["id"], approve=True, reason="ok")
    losses_before = await system_balance(app, "equity", "fraud_losses")
    await _decide(app, supervisor, case["id"], approve=True, reason="The transfer was not yours.")
    # 200 back from Bob's held money, 100 from the operator's loss account.
    assert await balance(client, bob) == ("0.00", "0.00")
    assert await system_balance(app, "equity", "fraud_losses") == losses_before - 10_000
    r = await client.get(f"/api/v1/disputes/cases/{case['id']}", headers=bearer(alice))
    done = r.json()
    assert (done["status"], done["refunded"]) == ("refunded", "300.00")
    assert done["decision_reason"] == "The transfer was not yours."
    async with app.state.db.session() as s:
        stored = await s.get(Case, uuid.UUID(case["id"]))
    assert (stored.recovered_held, stored.written_off) == (20_000, 10_000)
    # Both histories show it.
    mine = (
        await client.get("/api/v1/wallet/transactions?kind=refund", headers=bearer(alice))
    ).json()
    assert sorted(t["amount"]["amount"] for t in mine["transactions"]) == ["100.00", "200.00"]
    theirs = (
        await client.get("/api/v1/wallet/transactions?kind=refund", headers=bearer(bob))
    ).json()
    assert [(t["direction"], t["amount"]["amount"]) for t in theirs["transactions"]] == [
        ("out", "200.00")
    ]


async def test_the_same_person_cannot_recommend_and_decide_and_a_rejection_can_be_appealed_once(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock
):
    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    case = (await _claim(client, alice, tx_id)).json()
    assert await balance(client, bob) == ("0.00", "300.00")
    first, second = await _staff(app, "supervisor"), await _staff(app, "supervisor")
    await _recommend(app, first, case["id"], refund=False, amount=None, note="She shared the code")
    with pytest.raises(SamePerson):
        await _decide(app, first, case["id"], approve=True, reason="x")
    await _decide(app, second, case["id"], approve=True, reason="You gave the SMS code away.")
    assert await balance(client, bob) == ("300.00", "0.00")  # the hold is released
    r = await client.get(f"/api/v1/disputes/cases/{case['id']}", headers=bearer(alice))
    assert (r.json()["status"], r.json()["can_appeal"]) == ("rejected", True)
    r = await client.post(
        f"/api/v1/disputes/cases/{case['id']}/appeal",
        json={"note": "I never gave any code"},
        headers=bearer(alice),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open" and r.json()["held"] == "300.00"
    assert await balance(client, bob) == ("0.00", "300.00")  # held again
    await _recommend(app, first, case["id"], refund=False, amount=None, note="Still no")
    await _decide(app, second, case["id"], approve=True, reason="Final: the code was shared.")
    r = await client.post(
        f"/api/v1/disputes/cases/{case['id']}/appeal", json={"note": "again"}, headers=bearer(alice)
    )
    assert r.status_code == 409 and r.json()["code"] == "disputes.already_appealed"
    assert await balance(client, bob) == ("300.00", "0.00")


async def test_bad_claims_are_refused_and_change_nothing(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock
):
    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    # Someone else's transaction: not found.
    r = await _claim(client, bob, tx_id)
    assert r.status_code == 404 and r.json()["code"] == "wallet.transaction_not_found"
    # Money that came in is not claimable here.
    bobs = (await client.get("/api/v1/wallet/transactions", headers=bearer(bob))).json()
    r = await _claim(client, bob, bobs["transactions"][0]["id"])
    assert r.status_code == 422 and r.json()["code"] == "disputes.not_claimable"
    r = await _claim(client, alice, tx_id, amount="300.01")
    assert r.status_code == 422 and r.json()["code"] == "disputes.claim_invalid"
    r = await _claim(client, alice, tx_id, what_happened="   ")
    assert r.status_code == 422 and r.json()["code"] == "disputes.claim_invalid"
    app.state.settings.disputes.claim_window_days = 2  # (a session lasts 30 days)
    clock.freeze(clock.now() + timedelta(days=3))
    r = await _claim(client, alice, tx_id)
    assert r.status_code == 409 and r.json()["code"] == "disputes.claim_too_late"
    assert await balance(client, bob) == ("300.00", "0.00")
    async with app.state.db.session() as s:
        assert (await s.execute(select(Case))).first() is None


async def test_the_recipient_spending_at_the_same_instant_the_claim_opens(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """Either the hold wins, or it holds what was left after the spending, and says how much."""
    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    carol_phone, _, _ = await ready_user(client, app)
    spend, claim = await asyncio.gather(
        client.post(
            "/api/v1/wallet/transfers",
            json={"to": carol_phone, "amount": "250.00", "currency": "CNY", "pin": PIN},
            headers={**bearer(bob), **key()},
        ),
        _claim(client, alice, tx_id),
    )
    assert claim.status_code == 201, claim.text
    held = claim.json()["held"]
    available, pending = await balance(client, bob)
    if spend.status_code == 201:  # the spending was first: 50 left, held
        assert (held, available, pending) == ("50.00", "0.00", "50.00")
    else:  # the hold was first: the spending is refused for want of money
        assert spend.json()["code"] == "ledger.insufficient_funds", spend.text
        assert (held, available, pending) == ("300.00", "0.00", "300.00")


async def test_answering_no_to_a_held_transfer_opens_a_case_with_a_ticket(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    from tests.integration.test_risk_rules import _new_device_login, _send

    client, app = fresh_client, fresh_app
    phone, _, alice_id = await ready_user(client, app, minor=500_000)
    bob_phone, _, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    held = (await _send(client, alice, bob_phone, "2500.00")).json()["held"]
    r = await client.post(f"/api/v1/wallet/held/{held}/no", headers=bearer(alice))
    assert r.status_code == 200
    await deliver(app)  # the case is opened from the event, then its ticket
    cases = (await client.get("/api/v1/disputes/cases", headers=bearer(alice))).json()
    assert len(cases) == 1 and cases[0]["status"] == "open" and cases[0]["held"] == "0.00"
    assert cases[0]["ticket"] is not None
    async with app.state.db.session() as s:
        case = (await s.execute(select(Case))).scalar_one()
    assert (case.user_id, case.source, case.froze_account) == (alice_id, "held_no", True)
    await deliver(app)  # a second run opens nothing more
    assert len((await client.get("/api/v1/disputes/cases", headers=bearer(alice))).json()) == 1
    # Nothing left the account: the case cannot be refunded (no money would be made), nor can the
    # payee's money be held for it; it is closed by a "reject" recommendation and decision.
    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    with pytest.raises(ClaimInvalid):
        await _recommend(app, agent, case.id, refund=True, amount=None, note="x")
    with pytest.raises(WrongStage):
        async with app.state.db.transaction() as s:
            await review.hold_again(s, agent, case.id)
    await _recommend(app, agent, case.id, refund=False, amount=None, note="account secured")
    await _decide(app, supervisor, case.id, approve=True, reason="No money left your account.")
    assert await balance(client, alice) == ("5000.00", "0.00")


async def test_two_claims_on_one_transaction_at_the_same_instant_make_one_case(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    first, second = await asyncio.gather(_claim(client, alice, tx_id), _claim(client, alice, tx_id))
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "disputes.already_claimed"
    assert await balance(client, bob) == ("0.00", "300.00")  # held once


async def test_a_frozen_recipients_money_is_held_and_recovered_all_the_same(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """Agents freeze a mule's account; a freeze stops its owner, not a recovery: the claim holds
    the money in the frozen account, and a recipient frozen after the hold was placed is still
    debited when the refund is approved. Nothing comes from the loss account."""
    from qianbao.identity import freeze

    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    bob_id = (await client.get("/api/v1/me", headers=bearer(bob))).json()["id"]

    async def freeze_bob() -> None:
        async with app.state.db.transaction() as s:
            user = await s.get(User, uuid.UUID(bob_id))
            await freeze.freeze(s, app.state.identity, user, reason="fraud ring")

    await freeze_bob()
    r = await _claim(client, alice, tx_id)
    assert r.status_code == 201, r.text
    assert r.json()["held"] == "300.00"
    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    await _recommend(app, agent, r.json()["id"], refund=True, amount=None, note="ring")
    losses = await system_balance(app, "equity", "fraud_losses")
    await _decide(app, supervisor, r.json()["id"], approve=True, reason="ok")
    assert await system_balance(app, "equity", "fraud_losses") == losses
    assert await balance(client, alice) == ("1000.00", "0.00")
    assert await balance(client, bob) == ("0.00", "0.00")

    # Frozen after the hold: the approved refund still takes the held money.
    carol, _, dave, _, tx2 = await _sent(client, app)
    case = (await _claim(client, carol, tx2)).json()
    assert case["held"] == "300.00"
    dave_id = (await client.get("/api/v1/me", headers=bearer(dave))).json()["id"]
    async with app.state.db.transaction() as s:
        user = await s.get(User, uuid.UUID(dave_id))
        await freeze.freeze(s, app.state.identity, user, reason="mule")
    await _recommend(app, agent, case["id"], refund=True, amount=None, note="mule")
    await _decide(app, supervisor, case["id"], approve=True, reason="ok")
    assert await balance(client, carol) == ("1000.00", "0.00")
    assert await system_balance(app, "equity", "fraud_losses") == losses


async def test_the_risk_page_reports_claims_recovered_and_written_off(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    import re

    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    carol_phone, _, _ = await ready_user(client, app)
    r = await client.post(
        "/api/v1/wallet/transfers",
        json={"to": carol_phone, "amount": "120.00", "currency": "CNY", "pin": PIN},
        headers={**bearer(bob), **key()},
    )
    assert r.status_code == 201
    case = (await _claim(client, alice, tx_id)).json()
    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    await _recommend(app, agent, case["id"], refund=True, amount=None, note="found")
    await _decide(app, supervisor, case["id"], approve=True, reason="ok")
    token, _ = await staff_member(app, role="support_agent")
    page = (await client.get("/console/risk", headers=bearer(token))).text

    def figure(element_id: str) -> str:
        found = re.search(rf'id="{element_id}">([^<]*)<', page)
        assert found, element_id
        return found.group(1)

    assert figure("report-opened") == "1"
    assert "180.00" in figure("report-recovered") and "120.00" in figure("report-written-off")
    assert 'id="chart-answers"' in page or "chart-rules" in page
