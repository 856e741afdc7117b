"""Mistaken transfers (issue 15): the sender asks for the money back; the recipient returns it
with one tap and their PIN — or says it was no mistake, or does not answer within a week, and it
becomes a support case whose refund comes only from the recipient's held money (never from the
operator: a sender's own mistake is not its loss). No money moves without consent or an approved
case."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from qianbao.disputes import mistaken
from tests.integration.test_disputes import _decide, _recommend, _sent, _staff
from tests.support.identity import bearer, deliver, e164, sms_messages
from tests.support.wallet import PIN, balance, key, ready_user, system_balance


async def _ask(client, token, tx_id, note=""):
    return await client.post(
        "/api/v1/disputes/mistaken", json={"transaction_id": tx_id, "note": note},
        headers=bearer(token),
    )  # fmt: skip


async def test_the_recipient_sends_it_back_with_one_tap(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    alice, _, bob, bob_phone, tx_id = await _sent(client, app)
    r = await _ask(client, alice, tx_id, "转错了，麻烦退回")
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["kind"], case["status"], case["held"]) == ("mistaken", "asked", "0.00")
    assert await balance(client, bob) == ("300.00", "0.00")  # nothing held, nothing taken
    await deliver(app)
    assert any("300.00 CNY" in m for m in sms_messages(app, e164(bob_phone)))
    asked = (await client.get("/api/v1/disputes/returns", headers=bearer(bob))).json()
    assert [(a["id"], a["amount"], a["note"]) for a in asked] == [
        (case["id"], "300.00", "转错了，麻烦退回")
    ]
    # Nobody else can answer, and a wrong PIN moves nothing.
    _, carol, _ = await ready_user(client, app)
    r = await client.post(
        f"/api/v1/disputes/returns/{case['id']}/send-back", json={"pin": PIN}, headers=bearer(carol)
    )
    assert r.status_code == 404 and r.json()["code"] == "disputes.case_not_found"
    r = await client.post(
        f"/api/v1/disputes/returns/{case['id']}/send-back", json={"pin": "000000"},
        headers=bearer(bob),
    )  # fmt: skip
    assert r.status_code == 401 and r.json()["code"] == "identity.wrong_pin"
    assert await balance(client, bob) == ("300.00", "0.00")
    r = await client.post(
        f"/api/v1/disputes/returns/{case['id']}/send-back", json={"pin": PIN}, headers=bearer(bob)
    )
    assert r.status_code == 200 and r.json()["status"] == "returned", r.text
    assert await balance(client, alice) == ("1000.00", "0.00")
    assert await balance(client, bob) == ("0.00", "0.00")
    mine = (
        await client.get("/api/v1/wallet/transactions?kind=refund", headers=bearer(alice))
    ).json()
    assert [(t["direction"], t["amount"]["amount"]) for t in mine["transactions"]] == [
        ("in", "300.00")
    ]
    # Answered: a second answer and a second request are refused.
    r = await client.post(
        f"/api/v1/disputes/returns/{case['id']}/decline", json={}, headers=bearer(bob)
    )
    assert r.status_code == 409 and r.json()["code"] == "disputes.wrong_stage"
    r = await _ask(client, alice, tx_id)
    assert r.status_code == 409 and r.json()["code"] == "disputes.already_claimed"


async def test_no_mistake_becomes_a_case_refunded_only_from_the_recipients_money(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    carol_phone, _, _ = await ready_user(client, app)
    r = await client.post(
        "/api/v1/wallet/transfers",
        json={"to": carol_phone, "amount": "100.00", "currency": "CNY", "pin": PIN},
        headers={**bearer(bob), **key()},
    )
    assert r.status_code == 201
    case = (await _ask(client, alice, tx_id)).json()
    r = await client.post(
        f"/api/v1/disputes/returns/{case['id']}/decline", json={"reason": "他欠我钱"},
        headers=bearer(bob),
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "open"
    assert await balance(client, bob) == ("0.00", "200.00")  # what is left is held now
    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    await _recommend(app, agent, case["id"], refund=True, amount=None, note="No debt found")
    losses = await system_balance(app, "equity", "fraud_losses")
    await _decide(app, supervisor, case["id"], approve=True, reason="Sent by mistake.")
    assert await balance(client, alice) == ("900.00", "0.00")  # 700 + the 200 Bob still had
    assert await balance(client, bob) == ("0.00", "0.00")
    assert await system_balance(app, "equity", "fraud_losses") == losses  # not the operator's
    done = (await client.get(f"/api/v1/disputes/cases/{case['id']}", headers=bearer(alice))).json()
    assert (done["status"], done["refunded"]) == ("refunded", "200.00")


async def test_no_answer_within_a_week_becomes_a_case(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock
):
    client, app = fresh_client, fresh_app
    clock.freeze(clock.now())
    alice, _, bob, _, tx_id = await _sent(client, app)
    case = (await _ask(client, alice, tx_id)).json()
    async with app.state.db.transaction() as s:
        assert await mistaken.escalate_due(s, app.state.settings) == 0
    clock.advance(days=7, minutes=1)
    async with app.state.db.transaction() as s:
        assert await mistaken.escalate_due(s, app.state.settings) == 1
    assert await balance(client, bob) == ("0.00", "300.00")
    done = (await client.get(f"/api/v1/disputes/cases/{case['id']}", headers=bearer(alice))).json()
    assert done["status"] == "open"
    assert [e["kind"] for e in done["timeline"]] == ["asked", "not_answered", "held"]
    await deliver(app)
    done = (await client.get(f"/api/v1/disputes/cases/{case['id']}", headers=bearer(alice))).json()
    assert done["ticket"] is not None
