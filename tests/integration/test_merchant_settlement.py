"""Merchants: daily settlement (T+1 business days) through the payout rail, with a report that
ties payments, refunds and fees to each payout; the ledger's merchant, fee and marketing
balances add up."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
from fastapi import FastAPI

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.merchants import settlement
from qianbao.rails import factory as rails
from tests.support.identity import bearer, deliver
from tests.support.merchants import make_merchant, merchant_balance
from tests.support.wallet import PIN, ready_user


async def _pay(client: httpx.AsyncClient, shop, token: str, amount: str) -> dict:
    r = await client.post(
        "/api/v1/merchant/checkout-sessions",
        json={"amount": amount, "currency": "CNY", "order_reference": uuid.uuid4().hex[:12]},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    r = await client.post(
        f"/api/v1/pay/checkout-sessions/{r.json()['id']}/pay",
        json={"pin": PIN},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    return r.json()["payment"]


async def _settle(app: FastAPI) -> int:
    provider = rails.payouts(app.state.settings)
    async with app.state.db.transaction() as s:
        made = await settlement.run(s, app.state.settings, provider)
    await deliver(app)  # the job that instructs each payout once its settlement committed
    async with app.state.db.transaction() as s:
        await settlement.poll(s, provider)
    return made


def _at(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=LOCAL_TZ)


async def test_a_days_payments_less_refunds_and_fees_are_paid_out_the_next_business_day(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock
):
    clock.freeze(_at("2026-12-10", 10))  # a Thursday
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=1000_00)
    first = await _pay(fresh_client, shop, token, "100.00")  # fee 0.60
    await _pay(fresh_client, shop, token, "50.00")  # fee 0.30
    r = await fresh_client.post(
        f"/api/v1/merchant/payments/{first['id']}/refunds",
        json={"amount": "20.00"},
        headers={**shop.headers, "Idempotency-Key": "refund-1"},
    )
    assert r.status_code == 201 and r.json()["fee_returned"]["amount"] == "0.12"
    assert await _settle(fresh_app) == 0  # T+1: nothing is due on the day itself
    clock.freeze(_at("2026-12-11", 9))  # Friday
    sales_friday = await _pay(fresh_client, shop, token, "10.00")  # settles on Monday
    assert await _settle(fresh_app) == 1
    got = (await fresh_client.get("/api/v1/merchant/settlements", headers=shop.headers)).json()
    assert len(got) == 1
    payout = got[0]
    # (100 − 0.60) + (50 − 0.30) − (20 − 0.12) = 129.22
    assert payout["net"]["amount"] == "129.22" and payout["status"] == "paid", payout
    assert (payout["payments_count"], payout["refunds_count"]) == (2, 1)
    assert (payout["gross"]["amount"], payout["refunds"]["amount"], payout["fees"]["amount"]) == (
        "150.00",
        "20.00",
        "0.78",
    )
    assert payout["business_date"] == "2026-12-10" and payout["pay_on"] == "2026-12-11"
    # What is left is Friday's sale (10.00 − 0.06), paid on Monday, not on Saturday.
    assert await merchant_balance(fresh_app, shop.id) == (994, 994)
    clock.freeze(_at("2026-12-12", 10))
    assert await _settle(fresh_app) == 0
    clock.freeze(_at("2026-12-14", 10))
    assert await _settle(fresh_app) == 1
    assert await merchant_balance(fresh_app, shop.id) == (0, 0)
    got = (
        await fresh_client.get(
            f"/api/v1/merchant/payments/{sales_friday['id']}", headers=shop.headers
        )
    ).json()
    assert got["settlement_id"] is not None
    assert await _settle(fresh_app) == 0  # each line is paid once


async def test_a_payout_the_bank_sends_back_returns_to_the_merchant_and_is_paid_again(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock
):
    from qianbao.merchants import reports

    fresh_app.state.settings.payments.payout_settle_after_s = 60  # settles, then comes back
    clock.freeze(_at("2026-12-10", 10))  # a Thursday (before anyone signs in)
    # A test card number the development payout rail settles and then returns (…0077).
    shop = await make_merchant(fresh_app, settlement_number="6222020000050077")
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=500_00)
    await _pay(fresh_client, shop, token, "100.00")
    clock.freeze(_at("2026-12-11", 9))
    assert await _settle(fresh_app) == 1
    (payout,) = (
        await fresh_client.get("/api/v1/merchant/settlements", headers=shop.headers)
    ).json()
    assert payout["status"] == "submitted" and await merchant_balance(fresh_app, shop.id) == (
        9940,
        0,
    )
    clock.advance(seconds=61)
    await _settle(fresh_app)
    (payout,) = (
        await fresh_client.get("/api/v1/merchant/settlements", headers=shop.headers)
    ).json()
    assert payout["status"] == "paid" and await merchant_balance(fresh_app, shop.id) == (0, 0)
    clock.advance(seconds=61)  # the receiving bank sends it back
    await _settle(fresh_app)
    (payout,) = (
        await fresh_client.get("/api/v1/merchant/settlements", headers=shop.headers)
    ).json()
    assert payout["status"] == "returned" and payout["failure"]
    assert await merchant_balance(fresh_app, shop.id) == (9940, 9940)  # back on the balance
    async with fresh_app.state.db.transaction() as s:
        report = await reports.money_report(s)
    assert report.ok, report.checks
    # Its payment is paid again by a later run (after the account is fixed).
    clock.freeze(_at("2026-12-14", 9))
    assert await _settle(fresh_app) == 1
    got = (await fresh_client.get("/api/v1/merchant/settlements", headers=shop.headers)).json()
    assert sorted(p["status"] for p in got) == ["returned", "submitted"]
