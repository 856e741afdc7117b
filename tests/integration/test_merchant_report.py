"""The operator's merchant money report: after concurrent payments (some with a promo code),
racing partial refunds and a settlement, the merchant records and the ledger's merchant
accounts, fee revenue and marketing agree to the fen, and the figures are the exact sums."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
from fastapi import FastAPI

from qianbao.kernel.clock import LOCAL_TZ, TestClock
from qianbao.merchants import reports
from tests.integration.test_merchant_refunds import _promo
from tests.integration.test_merchant_settlement import _settle
from tests.support.identity import bearer
from tests.support.merchants import make_merchant
from tests.support.wallet import PIN, ready_user

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=LOCAL_TZ)


async def _report(app: FastAPI) -> reports.MoneyReport:
    async with app.state.db.transaction() as s:
        return await reports.money_report(s)


async def _pay(client, shop, token: str, amount: str, promo: str | None) -> httpx.Response:
    r = await client.post(
        "/api/v1/merchant/checkout-sessions",
        json={"amount": amount, "currency": "CNY", "order_reference": uuid.uuid4().hex[:12]},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    body = {"pin": PIN, **({"promo_code": promo} if promo else {})}
    return await client.post(
        f"/api/v1/pay/checkout-sessions/{r.json()['id']}/pay", json=body, headers=bearer(token)
    )


async def test_records_and_ledger_agree_after_concurrent_payments_refunds_and_a_payout(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    clock.freeze(MONDAY)
    before = await _report(fresh_app)
    assert before.ok
    shops = [
        await make_merchant(fresh_app, name_zh=f"店{n}", name_en=f"Shop {n}") for n in range(2)
    ]
    await _promo(fresh_app, "SAVE3", value=300, min_spend=10_00, budget=20_00)
    customers = [await ready_user(fresh_client, fresh_app, minor=500_00) for _ in range(6)]
    amounts = ["12.34", "28.00", "99.99", "7.77"]

    # 6 customers × 4 payments at once, at two shops; every customer tries the promo once
    # (its budget of 20.00 covers 6 × 3.00 = 18.00: all get it).
    jobs = [
        _pay(fresh_client, shops[(c + i) % 2], token, amount, "SAVE3" if i == 0 else None)
        for c, (_, token, _) in enumerate(customers)
        for i, amount in enumerate(amounts)
    ]
    paid = await asyncio.gather(*jobs)
    assert all(r.status_code == 200 for r in paid), [r.text for r in paid if r.status_code != 200]
    payments = [(r.json()["payment"], shops[(n // 4 + n % 4) % 2]) for n, r in enumerate(paid)]
    report = await _report(fresh_app)
    assert report.ok, report.checks
    assert report.payments - before.payments == 24
    assert report.discounts - before.discounts == 6 * 300

    # Racing partial refunds: three at once on each of six payments, each for 40 % of the price:
    # two of each three fit, the third is refused; nothing passes the price.
    async def refund(payment: dict, shop) -> httpx.Response:
        price = int(payment["amount"]["amount"].replace(".", ""))
        part = f"{price * 40 // 100 // 100}.{price * 40 // 100 % 100:02d}"
        return await fresh_client.post(
            f"/api/v1/merchant/payments/{payment['id']}/refunds",
            json={"amount": part, "currency": "CNY", "reason": "race"},
            headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
        )

    targets = payments[:6]
    results = await asyncio.gather(*(refund(p, s) for p, s in targets for _ in range(3)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 12 and codes.count(409) == 6, [
        (r.status_code, r.text) for r in results if r.status_code != 201
    ]
    report = await _report(fresh_app)
    assert report.ok, report.checks
    assert report.refunds - before.refunds == 12

    # The next business day each shop is paid out; records and ledger still agree, and the
    # merchant accounts hold only what is not yet paid out (nothing).
    clock.freeze(datetime(2026, 12, 8, 10, 0, tzinfo=LOCAL_TZ))
    assert await _settle(fresh_app) == 2
    report = await _report(fresh_app)
    assert report.ok, report.checks
    assert report.settlements_paid - before.settlements_paid == 2
    gross = sum(int(p["amount"]["amount"].replace(".", "")) for p, _ in payments)
    fees = sum(int(p["fee"]["amount"].replace(".", "")) for p, _ in payments)
    assert report.gross - before.gross == gross and report.fees - before.fees == fees
    expected_net = (gross - fees) - (
        (report.refunded - before.refunded) - (report.fees_returned - before.fees_returned)
    )
    assert report.settled_paid - before.settled_paid == expected_net
    assert report.merchant_posted == before.merchant_posted and report.merchant_held == 0
    by_name = {c.name: c for c in report.checks}
    assert by_name["Fee revenue from merchants"].actual - before.fee_revenue == (
        fees - (report.fees_returned - before.fees_returned)
    )
