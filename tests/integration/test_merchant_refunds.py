"""Merchants: refunds (partial, full, racing, too large, from a balance that is not enough),
promo codes (legs, once per customer, the budget under concurrent use)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI

from qianbao.merchants import promo
from tests.support.identity import bearer
from tests.support.merchants import make_merchant, merchant_balance, system_balance
from tests.support.wallet import PIN, ready_user


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _paid(
    client: httpx.AsyncClient, shop, token: str, amount: str, promo_code: str | None = None
) -> dict:
    r = await client.post(
        "/api/v1/merchant/checkout-sessions",
        json={"amount": amount, "currency": "CNY", "order_reference": uuid.uuid4().hex[:12]},
        headers={**shop.headers, **_key()},
    )
    cs = r.json()
    body = {"pin": PIN, **({"promo_code": promo_code} if promo_code else {})}
    r = await client.post(
        f"/api/v1/pay/checkout-sessions/{cs['id']}/pay", json=body, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return r.json()["payment"]


async def _wallet(client: httpx.AsyncClient, token: str) -> int:
    body = (await client.get("/api/v1/wallet", headers=bearer(token))).json()
    value = next(b["available"]["amount"] for b in body["balances"] if b["currency"] == "CNY")
    return int(value.replace(".", ""))


async def _refund(client, shop, payment_id: str, amount: str | None, key: str | None = None):
    return await client.post(
        f"/api/v1/merchant/payments/{payment_id}/refunds",
        json={"amount": amount, "reason": "顾客退货"} if amount else {"reason": "all"},
        headers={**shop.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def test_partial_refunds_up_to_the_paid_amount_return_the_fee_share_exactly(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    fees0 = await system_balance(fresh_app, "fee_revenue")
    payment = await _paid(fresh_client, shop, token, "33.33")  # fee 0.20 (0.19998 half up)
    assert payment["fee"]["amount"] == "0.20"
    r = await _refund(fresh_client, shop, payment["id"], "10.00", key="r-1")
    assert r.status_code == 201, r.text
    first = r.json()
    # Same key again: the same refund, nothing moves twice.
    again = await _refund(fresh_client, shop, payment["id"], "10.00", key="r-1")
    assert again.json()["id"] == first["id"]
    r = await _refund(fresh_client, shop, payment["id"], "23.34")
    assert r.status_code == 409 and r.json()["code"] == "merchants.refund_too_large"
    assert "23.33" in r.json()["title"]
    r = await _refund(fresh_client, shop, payment["id"], None)  # all that is left
    assert r.status_code == 201 and r.json()["amount"]["amount"] == "23.33"
    fee_back = int(first["fee_returned"]["amount"].replace(".", "")) + int(
        r.json()["fee_returned"]["amount"].replace(".", "")
    )
    assert fee_back == 20  # the whole fee, to the cent
    assert await merchant_balance(fresh_app, shop.id) == (0, 0)
    assert await system_balance(fresh_app, "fee_revenue") == fees0
    assert await _wallet(fresh_client, token) == 100_00
    got = (
        await fresh_client.get(f"/api/v1/merchant/payments/{payment['id']}", headers=shop.headers)
    ).json()
    assert got["refunded"]["amount"] == "33.33" and len(got["refunds"]) == 2
    rows = (await fresh_client.get("/api/v1/wallet/transactions", headers=bearer(token))).json()[
        "transactions"
    ]
    assert [(t["kind"], t["direction"], t["amount"]["amount"]) for t in rows[:2]] == [
        ("refund", "in", "23.33"),
        ("refund", "in", "10.00"),
    ]
    r = await _refund(fresh_client, shop, payment["id"], "0.01")
    assert r.status_code == 409 and r.json()["code"] == "merchants.refund_too_large"


async def test_racing_partial_refunds_never_pass_the_paid_amount(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    payment = await _paid(fresh_client, shop, token, "50.00")
    results = await asyncio.gather(
        *(_refund(fresh_client, shop, payment["id"], "20.00") for _ in range(5))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 201, 409, 409, 409], [r.text for r in results]
    got = (
        await fresh_client.get(f"/api/v1/merchant/payments/{payment['id']}", headers=shop.headers)
    ).json()
    assert got["refunded"]["amount"] == "40.00"
    assert await _wallet(fresh_client, token) == 90_00


async def test_a_refund_the_merchant_balance_cannot_cover_is_refused_and_recorded(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app, fee_plan={})
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    payment = await _paid(fresh_client, shop, token, "10.00")
    # The merchant's balance leaves (as a payout would) before the customer asks for a refund.
    from qianbao.ledger import Ledger, transfer
    from qianbao.ledger.accounts import system_account_id
    from qianbao.merchants.accounts import gather, money_lock

    async with fresh_app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        await money_lock(s, shop.id)
        account = await gather(s, shop.id)  # its accounts gathered into the main one
        clearing = await system_account_id(ledger.conn, "bank_clearing", "CNY", "payout")
        await ledger.post(
            transfer(
                "drain",
                debit_account_id=account.id,
                credit_account_id=clearing,
                amount=900,
                currency="CNY",
            )
        )
    r = await _refund(fresh_client, shop, payment["id"], "5.00", key="too-much")
    assert r.status_code == 409 and r.json()["code"] == "merchants.balance_too_low"
    assert await merchant_balance(fresh_app, shop.id) == (100, 100)
    assert await _wallet(fresh_client, token) == 90_00
    r = await _refund(fresh_client, shop, payment["id"], "5.00", key="too-much")
    assert r.status_code == 409 and r.json()["code"] == "merchants.balance_too_low"
    r = await _refund(fresh_client, shop, payment["id"], "1.00")
    assert r.status_code == 201
    # An unknown payment, another merchant's payment: not found.
    other = await make_merchant(fresh_app, name_zh="别家", name_en="Other")
    r = await _refund(fresh_client, other, payment["id"], "1.00")
    assert r.status_code == 404 and r.json()["code"] == "merchants.payment_not_found"


async def _promo(app: FastAPI, code: str, **kw) -> None:
    now = app.state.clock.now()
    async with app.state.db.transaction() as s:
        await promo.create(
            s,
            promo.Definition(
                code=code,
                kind=kw.get("kind", "fixed"),
                value=kw.get("value", 500),
                currency="CNY",
                min_spend=kw.get("min_spend", 0),
                max_discount=kw.get("max_discount"),
                once_per_user=kw.get("once_per_user", True),
                budget=kw.get("budget", 100_00),
                merchant_id=kw.get("merchant_id"),
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=1),
            ),
            by=None,
        )


async def test_a_promo_code_is_its_own_leg_and_the_merchant_is_paid_the_full_price(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app, fee_plan={})
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    await _promo(fresh_app, "COFFEE5", value=500, min_spend=20_00)
    marketing0 = await system_balance(fresh_app, "equity", "marketing")
    r = await fresh_client.post(
        "/api/v1/pay/promo-check",
        json={"code": "coffee5", "amount": "28.00", "shop": shop.code},
        headers=bearer(token),
    )
    assert r.json()["you_pay"]["amount"] == "23.00"
    payment = await _paid(fresh_client, shop, token, "28.00", promo_code="coffee5")
    assert (
        payment["discount"]["amount"] == "5.00" and payment["paid_by_customer"]["amount"] == "23.00"
    )
    assert await _wallet(fresh_client, token) == 77_00
    assert await merchant_balance(fresh_app, shop.id) == (28_00, 28_00)
    assert await system_balance(fresh_app, "equity", "marketing") - marketing0 == -5_00
    # Once per customer; under the minimum spend: refused, nothing moves.
    r = await fresh_client.post(
        "/api/v1/merchant/checkout-sessions",
        json={"amount": "30.00", "currency": "CNY", "order_reference": "P2"},
        headers={**shop.headers, **_key()},
    )
    r = await fresh_client.post(
        f"/api/v1/pay/checkout-sessions/{r.json()['id']}/pay",
        json={"pin": PIN, "promo_code": "COFFEE5"},
        headers=bearer(token),
    )
    assert r.status_code == 409 and r.json()["code"] == "merchants.promo_invalid"
    assert await _wallet(fresh_client, token) == 77_00
    # A full refund gives the customer what they paid and the marketing budget its share.
    r = await _refund(fresh_client, shop, payment["id"], None)
    assert r.json()["to_customer"]["amount"] == "23.00"
    assert await _wallet(fresh_client, token) == 100_00
    assert await system_balance(fresh_app, "equity", "marketing") == marketing0


async def test_a_promo_budget_holds_under_concurrent_use(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app, fee_plan={})
    users = [await ready_user(fresh_client, fresh_app, minor=50_00) for _ in range(6)]
    await _promo(fresh_app, "FIRST3", value=300, budget=9_00)  # three discounts of 3.00
    sessions = []
    for _ in users:
        r = await fresh_client.post(
            "/api/v1/merchant/checkout-sessions",
            json={"amount": "10.00", "currency": "CNY", "order_reference": uuid.uuid4().hex[:10]},
            headers={**shop.headers, **_key()},
        )
        sessions.append(r.json()["id"])
    results = await asyncio.gather(
        *(
            fresh_client.post(
                f"/api/v1/pay/checkout-sessions/{sid}/pay",
                json={"pin": PIN, "promo_code": "FIRST3"},
                headers=bearer(t),
            )
            for sid, (_, t, _) in zip(sessions, users, strict=True)
        )
    )
    ok = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code != 200]
    assert len(ok) == 3, [r.text for r in results]
    assert {r.json()["code"] for r in refused} == {"merchants.promo_invalid"}
    async with fresh_app.state.db.transaction() as s:
        codes = await promo.list_promos(s)
        assert [(c.code, c.spent, c.budget) for c in codes if c.code == "FIRST3"] == [
            ("FIRST3", 9_00, 9_00)
        ]


async def test_the_smallest_sale_whose_fee_is_all_of_it_is_paid_and_refunded(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """0.01 with the minimum fee of 0.01: the shop's leg is zero and left out of the entry."""
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100)
    payment = await _paid(fresh_client, shop, token, "0.01")
    assert payment["fee"]["amount"] == "0.01" and payment["net"]["amount"] == "0.00"
    r = await fresh_client.post(
        f"/api/v1/merchant/payments/{payment['id']}/refunds",
        json={"currency": "CNY"},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    assert r.json()["to_customer"]["amount"] == "0.01"
    assert await merchant_balance(fresh_app, shop.id) == (0, 0)


async def test_a_busy_shops_money_is_spread_over_its_accounts_and_refunds_take_from_all(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """Payments credit one of the shop's accounts each (a hot shop is no queue on one row);
    the balance is their sum, and refunds at the same instant take from whichever hold money,
    none going below zero."""
    from qianbao.merchants import accounts, reports

    shop = await make_merchant(fresh_app)  # 0.6 % fee, at least 0.01
    # 24 payments in a minute: the velocity rule would ask for a code (tested on its own).
    fresh_app.state.settings.risk.rules_enabled = False
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=1000_00)
    fees0 = await system_balance(fresh_app, "fee_revenue")
    paid = [await _paid(fresh_client, shop, token, "5.00") for _ in range(24)]
    async with fresh_app.state.db.transaction() as s:
        spread = await accounts.shards(s, shop.id)
        balance = await accounts.balance_of(s, shop.id)
    assert len(spread) > 1  # 24 payments over 16 accounts: all in one is (1/16)^23
    assert balance.available == sum(a.available for a in spread) == 24 * (500 - 3)
    assert await system_balance(fresh_app, "fee_revenue") - fees0 == 24 * 3

    results = await asyncio.gather(
        *(
            fresh_client.post(
                f"/api/v1/merchant/payments/{p['id']}/refunds",
                json={"amount": "5.00"},
                headers={**shop.headers, **_key()},
            )
            for p in paid
        )
    )
    assert [r.status_code for r in results] == [201] * 24, [r.text for r in results]
    assert await merchant_balance(fresh_app, shop.id) == (0, 0)
    assert await system_balance(fresh_app, "fee_revenue") == fees0
    async with fresh_app.state.db.transaction() as s:
        assert all(a.posted == 0 for a in await accounts.shards(s, shop.id))
        report = await reports.money_report(s)
    assert report.ok, report.checks
