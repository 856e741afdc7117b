"""Merchants: the customer's payment code at a till (B8, customer-presented) and the shop's
static QR (merchant-presented); the images carry exactly their payload (zxing-cpp decodes)."""

from __future__ import annotations

import asyncio
import io
import uuid

import httpx
import zxingcpp
from fastapi import FastAPI
from PIL import Image

from qianbao.merchants import qr
from tests.support.identity import bearer
from tests.support.merchants import make_merchant, merchant_balance
from tests.support.wallet import PIN, ready_user


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _code(client: httpx.AsyncClient, token: str) -> str:
    r = await client.post("/api/v1/pay/payment-codes", headers=bearer(token))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert len(code) == 18 and code.isdigit() and code.startswith("28")
    return code


async def _charge(client, shop, code: str, amount: str, key: str | None = None):
    return await client.post(
        "/api/v1/merchant/payment-code-payments",
        json={"code": code, "amount": amount, "currency": "CNY"},
        headers={**shop.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def _wallet(client: httpx.AsyncClient, token: str) -> str:
    body = (await client.get("/api/v1/wallet", headers=bearer(token))).json()
    return next(b["available"]["amount"] for b in body["balances"] if b["currency"] == "CNY")


async def test_a_small_till_charge_goes_through_and_a_code_works_once(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=500_00)
    code = await _code(fresh_client, token)
    r = await _charge(fresh_client, shop, code, "18.50", key="till-1")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "succeeded" and r.json()["method"] == "payment_code"
    assert await _wallet(fresh_client, token) == "481.50"
    # The till retries with the same key: the same payment. Another charge with the code: refused.
    again = await _charge(fresh_client, shop, code, "18.50", key="till-1")
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
    r = await _charge(fresh_client, shop, code, "1.00")
    assert r.status_code == 404 and r.json()["code"] == "merchants.payment_code_invalid"
    assert await _wallet(fresh_client, token) == "481.50"
    # The same key with another customer's code is another request: refused, not replayed.
    _, other_token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    other = await _charge(
        fresh_client, shop, await _code(fresh_client, other_token), "18.50", "till-1"
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency.key_reused"
    assert await _wallet(fresh_client, other_token) == "100.00"


async def test_a_new_code_retires_all_but_the_one_before_it(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """The screen refreshes its code every minute: the code just replaced still works (a till
    may have scanned it as the screen changed), older ones do not."""
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    first, second, third = [await _code(fresh_client, token) for _ in range(3)]
    r = await _charge(fresh_client, shop, first, "1.00")
    assert r.status_code == 404 and r.json()["code"] == "merchants.payment_code_invalid"
    assert (await _charge(fresh_client, shop, second, "1.00")).status_code == 201
    assert (await _charge(fresh_client, shop, third, "2.00")).status_code == 201
    assert await _wallet(fresh_client, token) == "97.00"


async def test_two_tills_with_one_code_at_the_same_instant_charge_once(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    other = await make_merchant(fresh_app, name_zh="隔壁", name_en="Next door")
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    code = await _code(fresh_client, token)
    results = await asyncio.gather(
        _charge(fresh_client, shop, code, "10.00"), _charge(fresh_client, other, code, "10.00")
    )
    assert sorted(r.status_code for r in results) == [201, 404], [r.text for r in results]
    assert await _wallet(fresh_client, token) == "90.00"


async def test_above_the_no_pin_limit_the_customer_confirms_with_the_pin(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=1000_00)
    # Changing the limit needs the payment PIN (a higher one lets a till take more unasked).
    for body in ({"no_pin_limit": "2000.00"}, {"no_pin_limit": "2000.00", "pin": "000000"}):
        r = await fresh_client.put(
            "/api/v1/pay/payment-codes/settings", json=body, headers=bearer(token)
        )
        assert r.status_code in (401, 422), r.text
    r = await fresh_client.put(
        "/api/v1/pay/payment-codes/settings",
        json={"no_pin_limit": "50.00", "pin": PIN},
        headers=bearer(token),
    )
    assert r.status_code == 200
    r = await fresh_client.put(
        "/api/v1/pay/payment-codes/settings",
        json={"no_pin_limit": "99999", "pin": PIN},
        headers=bearer(token),
    )
    assert r.status_code == 422 and r.json()["code"] == "merchants.no_pin_limit_invalid"
    r = await _charge(fresh_client, shop, await _code(fresh_client, token), "80.00")
    assert r.status_code == 201 and r.json()["status"] == "requires_confirmation"
    payment_id = r.json()["id"]
    assert await _wallet(fresh_client, token) == "1000.00"  # nothing moved yet
    pending = (
        await fresh_client.get("/api/v1/pay/payment-codes/pending", headers=bearer(token))
    ).json()
    assert [p["payment"]["id"] for p in pending] == [payment_id]
    assert pending[0]["shop"]["name"] == "测试咖啡"
    r = await fresh_client.post(
        f"/api/v1/pay/payments/{payment_id}/confirm", json={"pin": PIN}, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
    assert await _wallet(fresh_client, token) == "920.00"
    got = (
        await fresh_client.get(f"/api/v1/merchant/payments/{payment_id}", headers=shop.headers)
    ).json()
    assert got["status"] == "succeeded"
    r = await fresh_client.post(
        f"/api/v1/pay/payments/{payment_id}/confirm", json={"pin": PIN}, headers=bearer(token)
    )
    assert r.status_code == 409 and r.json()["code"] == "merchants.payment_not_pending"
    # Declined: nothing moves; refunding it is refused.
    r = await _charge(fresh_client, shop, await _code(fresh_client, token), "60.00")
    declined = r.json()["id"]
    r = await fresh_client.post(f"/api/v1/pay/payments/{declined}/decline", headers=bearer(token))
    assert r.json()["status"] == "cancelled"
    r = await fresh_client.post(
        f"/api/v1/merchant/payments/{declined}/refunds", json={}, headers={**shop.headers, **_key()}
    )
    assert r.status_code == 409 and r.json()["code"] == "merchants.payment_not_refundable"
    assert await _wallet(fresh_client, token) == "920.00"


async def test_guessing_codes_is_refused_per_merchant(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    fresh_app.state.settings.merchants.payment_code_guesses_per_minute = 5
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    for n in range(5):
        r = await _charge(fresh_client, shop, f"28{n:016d}", "1.00")
        assert r.status_code == 404
    real = await _code(fresh_client, token)
    r = await _charge(fresh_client, shop, real, "1.00")
    assert r.status_code == 429 and r.json()["code"] == "merchants.payment_code_rate_limited"
    assert r.headers["retry-after"] == "60"
    assert await _wallet(fresh_client, token) == "100.00"


async def test_paying_a_shop_by_its_static_qr(fresh_client: httpx.AsyncClient, fresh_app: FastAPI):
    shop = await make_merchant(fresh_app)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=100_00)
    r = await fresh_client.get(f"/api/v1/pay/shops/{shop.code.lower()}", headers=bearer(token))
    assert r.json()["name"] == "测试咖啡" and r.json()["category"] == "5814"
    body = {"amount": "12.00", "currency": "CNY", "note": "两杯", "pin": PIN}
    key = _key()
    r = await fresh_client.post(
        f"/api/v1/pay/shops/{shop.code}/pay", json=body, headers={**bearer(token), **key}
    )
    assert r.status_code == 201 and r.json()["payment"]["method"] == "qr", r.text
    r2 = await fresh_client.post(
        f"/api/v1/pay/shops/{shop.code}/pay", json=body, headers={**bearer(token), **key}
    )
    assert r2.json()["payment"]["id"] == r.json()["payment"]["id"] and r2.json()["replayed"]
    assert await _wallet(fresh_client, token) == "88.00"
    posted, _ = await merchant_balance(fresh_app, shop.id)
    assert posted == 12_00 - 5  # 0.38 % of 12.00 = 0.0456 → 0.05


def test_the_pictures_carry_exactly_their_payload():
    url = qr.shop_url("http://localhost:8000", "ABCD2345")
    assert url == "http://localhost:8000/pay/m/ABCD2345"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.qr_png(url))))
    assert [(r.text, r.format) for r in found] == [(url, zxingcpp.BarcodeFormat.QRCode)]
    code = "281234567890123456"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.barcode_png(code))))
    assert [(r.text, r.format) for r in found] == [(code, zxingcpp.BarcodeFormat.Code128)]
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.qr_png(code))))
    assert [r.text for r in found] == [code]
