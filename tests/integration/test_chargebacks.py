"""Chargebacks (issue 15): a customer claims a payment to a shop; the shop is told by a signed
webhook and answers with evidence before the deadline; an upheld claim takes the money back from
the shop's balance (never below zero; the rest from the operator's loss account), the part
charged back can no longer be refunded, and the shop is told how it ended."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from qianbao import webhooks
from qianbao.webhooks.models import WebhookEvent
from tests.integration.test_disputes import _decide, _recommend, _staff
from tests.integration.test_merchant_refunds import _paid, _refund, _wallet
from tests.support.identity import bearer
from tests.support.merchants import make_merchant, merchant_balance, system_balance
from tests.support.wallet import ready_user


async def _listening(app: FastAPI, owner) -> None:
    """The shop's endpoint for dispute events (events are kept only for endpoints that want them)."""
    app.state.settings.webhooks.allow_private_targets = True  # a receiver on this machine
    async with app.state.db.transaction() as s:
        await webhooks.create_endpoint(
            s, app.state.settings, owner_id=owner, url="http://localhost:9/hooks",
            event_types=["dispute.opened", "dispute.closed"],
        )  # fmt: skip


async def _events(app: FastAPI, owner) -> list[tuple[str, dict]]:
    async with app.state.db.session() as s:
        rows = await s.execute(
            select(WebhookEvent)
            .where(WebhookEvent.owner_id == owner)
            .order_by(WebhookEvent.created_at, WebhookEvent.id)
        )
        return [(m.type, m.payload["data"]) for m in rows.scalars()]


async def _payment_tx(client, token) -> str:
    txs = (await client.get("/api/v1/wallet/transactions", headers=bearer(token))).json()
    return next(t["id"] for t in txs["transactions"] if t["kind"] == "payment")


async def test_an_upheld_claim_on_a_payment_charges_the_merchant_back(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    shop = await make_merchant(app)
    await _listening(app, shop.id)
    _, token, _ = await ready_user(client, app, minor=100_00)
    payment = await _paid(client, shop, token, "40.00")
    r = await client.post(
        "/api/v1/disputes/claims",
        json={"transaction_id": await _payment_tx(client, token), "what_happened": "没买过",
              "shared": "nothing"},
        headers=bearer(token),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["held"], [e["kind"] for e in case["timeline"]]) == (
        "0.00",
        ["opened", "merchant_told"],
    )
    events = await _events(app, shop.id)
    assert events[-1][0] == "dispute.opened"
    assert events[-1][1]["id"] == case["reference"] and events[-1][1]["payment_id"] == payment["id"]
    # The shop answers through its API (its key sees only its own disputes).
    other = await make_merchant(app, name_zh="别的店", name_en="Other")
    r = await client.get(f"/api/v1/merchant/disputes/{case['reference']}", headers=other.headers)
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/merchant/disputes/{case['reference']}/evidence",
        json={"evidence": "Delivered to the customer's address, signed."}, headers=shop.headers,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["answered_at"] is not None, r.text
    r = await client.post(
        f"/api/v1/merchant/disputes/{case['reference']}/evidence",
        json={"evidence": "again"}, headers=shop.headers,
    )  # fmt: skip
    assert r.status_code == 409 and r.json()["code"] == "disputes.merchant_already_answered"

    before_posted, _ = await merchant_balance(app, shop.id)
    assert before_posted == 40_00 - int(payment["fee"]["amount"].replace(".", ""))
    losses = await system_balance(app, "equity", "fraud_losses")
    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    await _recommend(app, agent, case["id"], refund=True, amount=None, note="Card testing pattern")
    await _decide(app, supervisor, case["id"], approve=True, reason="Not your payment.")
    posted, _ = await merchant_balance(app, shop.id)
    # All the shop had (40.00 less the fee it paid); the fee's part from the loss account.
    assert (posted, await system_balance(app, "equity", "fraud_losses")) == (
        0,
        losses - (40_00 - before_posted),
    )
    assert await _wallet(client, token) == 100_00
    done = (await client.get(f"/api/v1/disputes/cases/{case['id']}", headers=bearer(token))).json()
    assert (done["status"], done["refunded"]) == ("refunded", "40.00")
    closed = (await _events(app, shop.id))[-1]
    assert closed[0] == "dispute.closed" and closed[1]["status"] == "lost"
    assert closed[1]["charged_back"]["amount"] == f"{before_posted / 100:.2f}"
    # Charged back: it can no longer be refunded.
    r = await _refund(client, shop, payment["id"], "1.00")
    assert r.status_code == 409 and r.json()["code"] == "merchants.refund_too_large"
    got = (
        await client.get(f"/api/v1/merchant/disputes/{case['reference']}", headers=shop.headers)
    ).json()
    assert got["status"] == "lost"


async def test_a_chargeback_never_takes_the_merchant_below_zero(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    shop = await make_merchant(app)
    _, token, _ = await ready_user(client, app, minor=100_00)
    payment = await _paid(client, shop, token, "40.00")
    # The shop refunds part of another order first: 10.00 of its money is gone.
    _, other_token, _ = await ready_user(client, app, minor=100_00)
    other = await _paid(client, shop, other_token, "10.00")
    assert (await _refund(client, shop, other["id"], None)).status_code == 201
    _, available = await merchant_balance(app, shop.id)
    r = await client.post(
        "/api/v1/disputes/claims",
        json={"transaction_id": await _payment_tx(client, token), "what_happened": "x",
              "shared": "nothing"},
        headers=bearer(token),
    )  # fmt: skip
    case = r.json()
    losses = await system_balance(app, "equity", "fraud_losses")
    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    await _recommend(app, agent, case["id"], refund=True, amount=None, note="found")
    await _decide(app, supervisor, case["id"], approve=True, reason="ok")
    _, left = await merchant_balance(app, shop.id)
    assert left == 0  # all it had, never below
    assert await system_balance(app, "equity", "fraud_losses") == losses - (40_00 - available)
    assert await _wallet(client, token) == 100_00
    assert payment["id"]


async def test_a_rejected_claim_leaves_the_merchant_whole_and_tells_it_it_won(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    shop = await make_merchant(app)
    await _listening(app, shop.id)
    _, token, _ = await ready_user(client, app, minor=100_00)
    await _paid(client, shop, token, "25.00")
    before = await merchant_balance(app, shop.id)
    case = (
        await client.post(
            "/api/v1/disputes/claims",
            json={
                "transaction_id": await _payment_tx(client, token),
                "what_happened": "x",
                "shared": "pin",
            },
            headers=bearer(token),
        )
    ).json()
    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    await _recommend(app, agent, case["id"], refund=False, amount=None, note="Delivered")
    await _decide(app, supervisor, case["id"], approve=True, reason="The shop delivered.")
    assert await merchant_balance(app, shop.id) == before
    closed = (await _events(app, shop.id))[-1]
    assert closed[0] == "dispute.closed" and closed[1]["status"] == "won"
    assert uuid.UUID(case["id"])


async def test_the_operators_money_report_still_agrees_after_a_chargeback(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    from qianbao.merchants import reports

    client, app = fresh_client, fresh_app
    shop = await make_merchant(app)
    _, token, _ = await ready_user(client, app, minor=100_00)
    await _paid(client, shop, token, "30.00")
    await _paid(client, shop, token, "12.00")
    case = (
        await client.post(
            "/api/v1/disputes/claims",
            json={"transaction_id": await _payment_tx(client, token), "what_happened": "x",
                  "shared": "nothing", "amount": "7.00"},
            headers=bearer(token),
        )
    ).json()  # fmt: skip
    agent, supervisor = await _staff(app, "support_agent"), await _staff(app, "supervisor")
    await _recommend(app, agent, case["id"], refund=True, amount=None, note="found")
    await _decide(app, supervisor, case["id"], approve=True, reason="ok")
    async with app.state.db.transaction() as s:
        report = await reports.money_report(s)
    assert report.charged_back == 7_00
    assert report.ok, [(c.label, c.expected, c.actual) for c in report.checks]
