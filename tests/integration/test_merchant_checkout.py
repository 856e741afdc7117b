"""Merchants: checkout sessions paid from the wallet (B9), the money legs, races, refusals and
what each party reads afterwards."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI

from tests.support.identity import bearer
from tests.support.merchants import make_merchant, merchant_balance, set_status, system_balance
from tests.support.wallet import PIN, ready_user


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _session(client: httpx.AsyncClient, shop, amount: str = "28.00", **extra) -> dict:
    body = {
        "amount": amount,
        "currency": "CNY",
        "order_reference": extra.pop("order_reference", f"ORDER-{uuid.uuid4().hex[:8]}"),
        "description": "Latte 拿铁",
        "success_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
        **extra,
    }
    r = await client.post(
        "/api/v1/merchant/checkout-sessions", json=body, headers={**shop.headers, **_key()}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _wallet(client: httpx.AsyncClient, token: str) -> str:
    body = (await client.get("/api/v1/wallet", headers=bearer(token))).json()
    return next(b["available"]["amount"] for b in body["balances"] if b["currency"] == "CNY")


async def test_a_customer_pays_a_checkout_session_and_every_leg_adds_up(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=10_000)
    fees_before = await system_balance(fresh_app, "fee_revenue")
    cs = await _session(fresh_client, shop, "28.00")
    assert cs["status"] == "open" and cs["url"].endswith(f"/pay/checkout/{cs['id']}")
    view = (
        await fresh_client.get(f"/api/v1/pay/checkout-sessions/{cs['id']}", headers=bearer(token))
    ).json()
    assert view["shop"]["name"] == "测试咖啡" and view["amount"] == {
        "amount": "28.00",
        "currency": "CNY",
    }
    r = await fresh_client.post(
        f"/api/v1/pay/checkout-sessions/{cs['id']}/pay", json={"pin": PIN}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    paid = r.json()
    assert paid["return_url"] == f"https://shop.example/thanks?session_id={cs['id']}"
    payment = paid["payment"]
    # 0.6 % of 28.00 = 0.168 → 0.17 (half up); the merchant keeps 27.83.
    assert payment["fee"]["amount"] == "0.17" and payment["net"]["amount"] == "27.83"
    assert await _wallet(fresh_client, token) == "72.00"
    assert await merchant_balance(fresh_app, shop.id) == (2783, 2783)
    assert await system_balance(fresh_app, "fee_revenue") - fees_before == 17
    # The shop reads the session and the payment; the customer's history names the shop.
    got = (
        await fresh_client.get(
            f"/api/v1/merchant/checkout-sessions/{cs['id']}", headers=shop.headers
        )
    ).json()
    assert got["status"] == "paid" and got["payment_id"] == payment["id"]
    got = (
        await fresh_client.get(f"/api/v1/merchant/payments/{payment['id']}", headers=shop.headers)
    ).json()
    assert got["status"] == "succeeded" and got["refunds"] == []
    rows = (await fresh_client.get("/api/v1/wallet/transactions", headers=bearer(token))).json()[
        "transactions"
    ]
    assert [
        (t["kind"], t["direction"], t["amount"]["amount"], t["counterparty_name"]) for t in rows[:1]
    ] == [("payment", "out", "28.00", "测试咖啡")]
    receipt = (
        await fresh_client.get(f"/api/v1/pay/payments/{payment['id']}", headers=bearer(token))
    ).json()
    assert receipt["payment"]["reference"] == rows[0]["reference"]
    # Sending the form again returns the same payment; nothing moves twice.
    r = await fresh_client.post(
        f"/api/v1/pay/checkout-sessions/{cs['id']}/pay", json={"pin": PIN}, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["replayed"] is True
    assert await _wallet(fresh_client, token) == "72.00"


async def test_two_customers_paying_one_session_at_the_same_instant_one_pays(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    users = [await ready_user(fresh_client, fresh_app, minor=5_000) for _ in range(4)]
    cs = await _session(fresh_client, shop, "10.00")
    results = await asyncio.gather(
        *(
            fresh_client.post(
                f"/api/v1/pay/checkout-sessions/{cs['id']}/pay",
                json={"pin": PIN},
                headers=bearer(t),
            )
            for _, t, _ in users
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409], [r.text for r in results]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"merchants.session_paid"}
    balances = sorted([await _wallet(fresh_client, t) for _, t, _ in users])
    assert balances == ["40.00", "50.00", "50.00", "50.00"]
    posted, _ = await merchant_balance(fresh_app, shop.id)
    assert posted == 1000 - 6  # 0.6 % of 10.00


async def test_expired_cancelled_and_already_paid_orders_are_refused_and_move_nothing(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock
):
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=10_000)
    expiring = await _session(fresh_client, shop, "5.00", expires_in_minutes=5)
    cancelled = await _session(fresh_client, shop, "5.00")
    r = await fresh_client.post(
        f"/api/v1/merchant/checkout-sessions/{cancelled['id']}/cancel", headers=shop.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    first = await _session(fresh_client, shop, "5.00", order_reference="A-1")
    second = await _session(fresh_client, shop, "5.00", order_reference="A-1")
    pay = lambda cs: fresh_client.post(  # noqa: E731
        f"/api/v1/pay/checkout-sessions/{cs['id']}/pay", json={"pin": PIN}, headers=bearer(token)
    )
    assert (await pay(first)).status_code == 200
    r = await pay(second)
    assert r.status_code == 409 and r.json()["code"] == "merchants.order_paid"
    r = await pay(cancelled)
    assert r.status_code == 409 and r.json()["code"] == "merchants.session_cancelled"
    clock.advance(minutes=6)
    r = await pay(expiring)
    assert r.status_code == 409 and r.json()["code"] == "merchants.session_expired"
    assert await _wallet(fresh_client, token) == "95.00"
    # A wrong PIN, a frozen customer, a suspended shop: refused, nothing moves.
    other = await _session(fresh_client, shop, "5.00")
    r = await fresh_client.post(
        f"/api/v1/pay/checkout-sessions/{other['id']}/pay",
        json={"pin": "000000"},
        headers=bearer(token),
    )
    assert r.status_code == 401 and r.json()["code"] == "identity.wrong_pin"
    await set_status(fresh_app, shop.id, "suspended")
    r = await pay(other)
    assert r.status_code == 409 and r.json()["code"] == "merchants.not_active"
    assert await _wallet(fresh_client, token) == "95.00"


async def test_api_keys_see_only_their_merchant_and_need_their_scope(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    other = await make_merchant(fresh_app, name_zh="另一家", name_en="Another")
    reader = await make_merchant(fresh_app, scopes=("read",))
    cs = await _session(fresh_client, shop)
    r = await fresh_client.get(
        f"/api/v1/merchant/checkout-sessions/{cs['id']}", headers=other.headers
    )
    assert r.status_code == 404 and r.json()["code"] == "merchants.session_not_found"
    r = await fresh_client.post(
        "/api/v1/merchant/checkout-sessions",
        json={"amount": "1.00", "currency": "CNY", "order_reference": "X"},
        headers={**reader.headers, **_key()},
    )
    assert r.status_code == 403 and r.json()["code"] == "merchants.api_key_scope"
    for header in ({}, {"Authorization": "Bearer qb_sk_nope"}, {"Authorization": "Basic abc"}):
        r = await fresh_client.get("/api/v1/merchant/payments", headers=header)
        assert r.status_code == 401 and r.json()["code"] == "merchants.api_key_invalid"
    # Same idempotency key, same request: the same session; another request: refused.
    key = {"Idempotency-Key": "order-77"}
    body = {"amount": "3.00", "currency": "CNY", "order_reference": "77"}
    a = await fresh_client.post(
        "/api/v1/merchant/checkout-sessions", json=body, headers={**shop.headers, **key}
    )
    b = await fresh_client.post(
        "/api/v1/merchant/checkout-sessions", json=body, headers={**shop.headers, **key}
    )
    assert a.json()["id"] == b.json()["id"]
    body["amount"] = "4.00"
    c = await fresh_client.post(
        "/api/v1/merchant/checkout-sessions", json=body, headers={**shop.headers, **key}
    )
    assert c.status_code == 409 and c.json()["code"] == "idempotency.key_reused"
    # Full-width digits, floats, bad URLs: clear refusals.
    for bad, code in (
        ({"amount": "１００"}, "money.invalid_amount"),
        ({"amount": "1.001"}, "money.too_many_decimals"),
        ({"success_url": "javascript:alert(1)"}, "merchants.url_invalid"),
        ({"currency": "USD"}, "merchants.currency_not_accepted"),
    ):
        r = await fresh_client.post(
            "/api/v1/merchant/checkout-sessions",
            json={"amount": "1.00", "currency": "CNY", "order_reference": "Z", **bad},
            headers={**shop.headers, **_key()},
        )
        assert r.status_code == 422 and r.json()["code"] == code, (bad, r.text)
    # Outside development, a plain http:// return address is refused too.
    fresh_app.state.settings.merchants.return_urls_may_be_http = False
    r = await fresh_client.post(
        "/api/v1/merchant/checkout-sessions",
        json={"amount": "1.00", "currency": "CNY", "order_reference": "Z",
              "success_url": "http://shop.example/thanks"},
        headers={**shop.headers, **_key()},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["code"] == "merchants.url_invalid", r.text


async def test_a_frozen_customer_cannot_pay_and_nothing_moves(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=10_000)
    cs = await _session(fresh_client, shop, "5.00")
    r = await fresh_client.post("/api/v1/me/freeze", json={}, headers=bearer(token))
    assert r.status_code in (200, 204), r.text
    r = await fresh_client.post(
        f"/api/v1/pay/checkout-sessions/{cs['id']}/pay", json={"pin": PIN}, headers=bearer(token)
    )
    assert r.status_code in (403, 409, 423) and r.json()["code"].startswith(
        ("identity.", "ledger.", "wallet.")
    ), r.text
    assert await _wallet(fresh_client, token) == "100.00"
    assert await merchant_balance(fresh_app, shop.id) == (0, 0)


async def test_a_rotated_key_works_for_the_overlap_and_a_revoked_one_stops_at_once(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock
):
    from qianbao.merchants import keys, onboarding

    shop = await make_merchant(fresh_app)
    ctx = fresh_app.state.identity
    async with fresh_app.state.db.transaction() as s:
        merchant = await onboarding.get(s, shop.id)
        (old,) = await keys.list_keys(s, shop.id)
        new, secret = await keys.rotate_key(s, ctx, merchant, str(old.id), by=None)
    new_headers = {"Authorization": f"Bearer {secret}"}
    for headers in (shop.headers, new_headers):  # both work during the overlap
        assert (
            await fresh_client.get("/api/v1/merchant/balance", headers=headers)
        ).status_code == 200
    clock.advance(hours=25)
    r = await fresh_client.get("/api/v1/merchant/balance", headers=shop.headers)
    assert r.status_code == 401 and r.json()["code"] == "merchants.api_key_invalid"
    assert (
        await fresh_client.get("/api/v1/merchant/balance", headers=new_headers)
    ).status_code == 200
    async with fresh_app.state.db.transaction() as s:
        merchant = await onboarding.get(s, shop.id)
        await keys.revoke_key(s, merchant, str(new.id))
    r = await fresh_client.get("/api/v1/merchant/balance", headers=new_headers)
    assert r.status_code == 401 and r.json()["code"] == "merchants.api_key_invalid"
