"""Top-ups by Alipay and WeChat Pay (B4) on a deployment that offers them next to the card
acquirer, with the TEST keys of tests/data/acquirers: the top-up is registered with the provider
(amount + the method's fee), and only the provider's verified notification credits the wallet —
once; a replay, a tampered notification or one for another amount changes nothing."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI
from sqlalchemy import text

from qianbao.kernel.clock import TestClock
from qianbao.rails import alipay, wechatpay
from qianbao.rails import factory as rails
from qianbao.settings import Settings
from qianbao.wallet.models import Topup
from tests.conftest import base_settings
from tests.support.identity import bearer, deliver, e164, sms_messages
from tests.support.wallet import (
    CARD_OK,
    PIN,
    balance,
    bind_card,
    key,
    ready_user,
    system_balance,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "acquirers"
NOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
APP_ID = "2021004100000001"
MCHID, APPID = "1900009191", "wxd678efh567hg6787"
V3_KEY = "QianbaoTestApiV3Key0123456789abc"
PUB_KEY_ID = "PUB_KEY_ID_0119000091912026112200000001"
CERT_SERIAL = "4F1D6E0A8B3C2D5E7F9A0B1C2D3E4F5061728394"
H5_URL = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=1"


def _pem(name: str) -> str:
    return (DATA / name).read_text()


def _private(name: str):
    return serialization.load_pem_private_key((DATA / name).read_bytes(), password=None)


def wallet_settings(tmp_path: Path) -> Settings:
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        email={"backend": "file", "outbox_dir": tmp_path / "mail"},
        payments={
            "payout_outbox_path": tmp_path / "payouts.jsonl",
            "sandbox_secret": "test-sandbox-signing-key",
            "alipay": {
                "enabled": True,
                "app_id": APP_ID,
                "app_private_key": f"file:{DATA / 'alipay_test_app_private.pem'}",
                "alipay_public_key": _pem("alipay_test_alipay_public.pem"),
                "gateway_url": alipay.SANDBOX_GATEWAY,
                "notify_base_url": "https://pay.example.test",
                "min_amount": "1.00",
                "max_amount": "2000.00",
                "fee": {"percent": "0.6", "minimum": "0.10"},
            },
            "wechatpay": {
                "enabled": True,
                "appid": APPID,
                "mchid": MCHID,
                "merchant_serial_no": "MERCHANT0001",
                "merchant_private_key": _pem("wechatpay_test_merchant_private.pem"),
                "api_v3_key": V3_KEY,
                "platform_keys": {
                    PUB_KEY_ID: _pem("wechatpay_test_platform_public.pem"),
                    CERT_SERIAL: f"file:{DATA / 'wechatpay_test_platform_cert.pem'}",
                },
                "min_amount": "10.00",
                "max_amount": "500.00",
                "fee": {"fixed": "0.50"},
            },
        },
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return wallet_settings(tmp_path)


def _wechat_answer(body: bytes, at: int) -> dict[str, str]:
    nonce = "A" * 32
    message = wechatpay.response_message(str(at), nonce, body)
    return {
        "Wechatpay-Serial": CERT_SERIAL,
        "Wechatpay-Timestamp": str(at),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": wechatpay.sign(
            _private("wechatpay_test_platform_private.pem"), message
        ),
        "Content-Type": "application/json",
    }


@pytest.fixture
def h5_orders() -> list[dict]:
    return []


@pytest.fixture
def wired(fresh_app: FastAPI, settings: Settings, clock: TestClock, h5_orders: list[dict]):
    """The app at a pinned time, its WeChat Pay API answered by a stand-in that signs as the
    platform."""
    clock.freeze(NOW)

    def handler(request: httpx.Request) -> httpx.Response:
        h5_orders.append(json.loads(request.content))
        body = json.dumps({"h5_url": H5_URL}).encode()
        return httpx.Response(200, content=body, headers=_wechat_answer(body, clock.timestamp()))

    fresh_app.state.acquirers = rails.acquirers(settings, transport=httpx.MockTransport(handler))
    return fresh_app


async def _start(client, token, method, amount):
    return await client.post(
        "/api/v1/wallet/topups",
        json={"method": method, "amount": amount, "currency": "CNY", "pin": PIN},
        headers={**bearer(token), **key()},
    )


async def _state(app: FastAPI, topup_id: str) -> tuple[str, int]:
    async with app.state.db.transaction() as s:
        row = await s.get(Topup, uuid.UUID(topup_id))
        entries = await s.scalar(text("SELECT count(*) FROM ledger_entries"))
        return row.status, int(entries)


def alipay_notice(topup: dict, *, total: str, clock: TestClock, status="TRADE_SUCCESS") -> dict:
    sent = clock.now().astimezone(alipay.BEIJING).strftime(alipay.TIME_FORMAT)
    params = {
        "notify_time": sent,
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
        "trade_no": "2026121022001400000000000001",
        "out_trade_no": uuid.UUID(topup["id"]).hex,
        "trade_status": status,
        "total_amount": total,
        "receipt_amount": total,
        "gmt_payment": sent,
    }
    content = alipay.sign_content(params, exclude=("sign", "sign_type"))
    params["sign"] = alipay.rsa2_sign(_private("alipay_test_alipay_private.pem"), content)
    return params


async def _post_alipay(client: httpx.AsyncClient, params: dict) -> httpx.Response:
    return await client.post(
        "/api/v1/payments/alipay/notify",
        content=urlencode(params).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )


async def test_alipay_top_up_is_credited_once_by_a_verified_notification(
    fresh_client: httpx.AsyncClient, wired: FastAPI, clock: TestClock
):
    app = wired
    phone, token, _ = await ready_user(fresh_client, app)
    clearing, revenue = (
        await system_balance(app, "bank_clearing", "alipay"),
        await system_balance(app, "fee_revenue"),
    )
    r = await _start(fresh_client, token, "alipay", "100.00")
    assert r.status_code == 201, r.text
    topup = r.json()
    assert topup["method"] == "alipay" and topup["status"] == "pending"
    assert topup["fee"] == {"amount": "0.60", "currency": "CNY"}
    assert topup["total"] == {"amount": "100.60", "currency": "CNY"}
    url = urlsplit(topup["confirmation_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == alipay.SANDBOX_GATEWAY
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["notify_url"] == "https://pay.example.test/api/v1/payments/alipay/notify"
    assert json.loads(query["biz_content"])["total_amount"] == "100.60"
    _, entries = await _state(app, topup["id"])

    # Tampered (the amount changed after signing) or for another amount: refused, no change.
    tampered = {**alipay_notice(topup, total="100.60", clock=clock), "total_amount": "1000.60"}
    r = await _post_alipay(fresh_client, tampered)
    assert (r.status_code, r.text) == (400, "failure")
    assert r.headers["content-type"].startswith("text/plain")
    r = await _post_alipay(fresh_client, alipay_notice(topup, total="100.00", clock=clock))
    assert (r.status_code, r.text) == (400, "failure")
    assert await _state(app, topup["id"]) == ("pending", entries)
    assert await balance(fresh_client, token) == ("0.00", "0.00")

    good = alipay_notice(topup, total="100.60", clock=clock)
    for _ in range(2):  # Alipay's retry of the same notification changes nothing
        r = await _post_alipay(fresh_client, good)
        assert (r.status_code, r.text) == (200, "success")
        assert r.headers["content-type"].startswith("text/plain")
    assert await _state(app, topup["id"]) == ("succeeded", entries + 1)
    assert await balance(fresh_client, token) == ("100.00", "0.00")
    assert await system_balance(app, "bank_clearing", "alipay") == clearing - 10_060
    assert await system_balance(app, "fee_revenue") == revenue + 60
    # The user's notice names the method, not a card.
    await deliver(app)
    (notice,) = [m for m in sms_messages(app, e164(phone)) if "100.00" in m]
    assert "Alipay" in notice or "支付宝" in notice, notice
    assert "card" not in notice and "银行卡" not in notice, notice
    # The transaction's page says how it was paid and the fee paid on top.
    page = await fresh_client.get(
        f"/wallet/tx/{topup['transaction_id']}",
        headers={**bearer(token), "Accept-Language": "zh-CN"},
    )
    assert page.status_code == 200, page.text
    assert '<dd id="tx-method">支付宝</dd>' in page.text
    assert '<dd id="tx-fee">¥0.60</dd>' in page.text


def wechat_notice(topup: dict, *, total: int, clock: TestClock) -> tuple[bytes, dict]:
    tx = {
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": uuid.UUID(topup["id"]).hex,
        "transaction_id": "4200000000202612100000000001",
        "trade_type": "MWEB",
        "trade_state": "SUCCESS",
        "amount": {"total": total, "payer_total": total, "currency": "CNY"},
    }
    nonce, aad = "fdasflkja484", "transaction"
    sealed = AESGCM(V3_KEY.encode()).encrypt(nonce.encode(), json.dumps(tx).encode(), aad.encode())
    event = {
        "id": "EV-2026121000000001",
        "event_type": "TRANSACTION.SUCCESS",
        "resource_type": "encrypt-resource",
        "resource": {
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode(),
            "nonce": nonce,
            "associated_data": aad,
            "original_type": "transaction",
        },
    }
    body = json.dumps(event).encode()
    headers = _wechat_answer(body, clock.timestamp())
    return body, {**headers, "Wechatpay-Serial": PUB_KEY_ID}


async def _post_wechat(client: httpx.AsyncClient, body: bytes, headers: dict) -> httpx.Response:
    return await client.post("/api/v1/payments/wechatpay/notify", content=body, headers=headers)


async def test_wechat_pay_top_up_is_credited_once_by_a_verified_notification(
    fresh_client: httpx.AsyncClient, wired: FastAPI, clock: TestClock, h5_orders: list[dict]
):
    app = wired
    _, token, _ = await ready_user(fresh_client, app)
    clearing = await system_balance(app, "bank_clearing", "wechatpay")
    r = await _start(fresh_client, token, "wechatpay", "100.00")
    assert r.status_code == 201, r.text
    topup = r.json()
    assert topup["fee"]["amount"] == "0.50" and topup["total"]["amount"] == "100.50"
    (order,) = h5_orders
    assert order["amount"] == {"total": 10_050, "currency": "CNY"}
    assert order["scene_info"]["payer_client_ip"] == "203.0.113.7"  # the request's client
    assert order["notify_url"] == "http://testserver/api/v1/payments/wechatpay/notify"
    assert topup["confirmation_url"].startswith(H5_URL + "&redirect_url=http%3A%2F%2Ftestserver")
    _, entries = await _state(app, topup["id"])

    body, headers = wechat_notice(topup, total=10_050, clock=clock)
    forged = {**headers, "Wechatpay-Signature": base64.b64encode(b"x" * 256).decode()}
    r = await _post_wechat(fresh_client, body, forged)
    assert r.status_code == 401 and r.json()["code"] == "FAIL"
    r = await _post_wechat(fresh_client, body.replace(b"EV-", b"EW-"), headers)  # body changed
    assert r.status_code == 401 and r.json()["code"] == "FAIL"
    r = await _post_wechat(fresh_client, *wechat_notice(topup, total=10_000, clock=clock))
    assert r.status_code == 400 and r.json() == {
        "code": "FAIL",
        "message": "order not found or amount mismatch",
    }
    assert await _state(app, topup["id"]) == ("pending", entries)
    assert await balance(fresh_client, token) == ("0.00", "0.00")

    for _ in range(2):  # a retry of the same notification changes nothing
        r = await _post_wechat(fresh_client, body, headers)
        assert r.status_code == 204, r.text
    assert await _state(app, topup["id"]) == ("succeeded", entries + 1)
    assert await balance(fresh_client, token) == ("100.00", "0.00")
    assert await system_balance(app, "bank_clearing", "wechatpay") == clearing - 10_050


async def test_each_method_has_its_own_range_and_the_list_shows_them(
    fresh_client: httpx.AsyncClient, wired: FastAPI
):
    _, token, _ = await ready_user(fresh_client, wired)
    listed = await fresh_client.get(
        "/api/v1/wallet/topup-methods", headers={**bearer(token), "Accept-Language": "en"}
    )
    assert [(m["method"], m["name"]) for m in listed.json()] == [
        ("card", "Bank card"),
        ("alipay", "Alipay"),
        ("wechatpay", "WeChat Pay"),
    ]
    wechat = listed.json()[2]
    assert wechat["min_amount"]["amount"] == "10.00" and wechat["max_amount"]["amount"] == "500.00"
    assert wechat["fee"]["fixed"]["amount"] == "0.50" and listed.json()[0]["fee"] is None

    r = await _start(fresh_client, token, "wechatpay", "9.99")
    assert r.status_code == 422 and r.json()["code"] == "wallet.topup_amount_out_of_range"
    r = await _start(fresh_client, token, "alipay", "2000.01")
    assert r.status_code == 422 and r.json()["code"] == "wallet.topup_amount_out_of_range"
    async with wired.state.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM wallet_topups")) == 0


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "How do you want to pay?",
                "Bank card",
                "Alipay",
                "WeChat Pay",
                "From CN¥1.00 to CN¥2,000.00 per top-up",
                "Fee: 0.6%, at least CN¥0.10",
                "From CN¥10.00 to CN¥500.00 per top-up",
                "Fee: CN¥0.50",
                "No fee",
            ],
        ),
        ("zh-CN", ["银行卡", "¥1.00", "¥2,000.00", "0.6%", "¥0.10", "¥10.00", "¥500.00", "¥0.50"]),
    ],
)
async def test_the_top_up_page_lists_the_methods_with_their_limits_and_fees(
    fresh_client: httpx.AsyncClient, wired: FastAPI, language: str, expected: list[str]
):
    phone, token, _ = await ready_user(fresh_client, wired)
    await bind_card(fresh_client, wired, phone, token, CARD_OK)
    page = await fresh_client.get(
        "/wallet/topup", headers={**bearer(token), "Accept-Language": language}
    )
    assert page.status_code == 200
    for fragment in expected:
        assert fragment in page.text
    for method in ("card", "alipay", "wechatpay"):
        assert f'name="method" value="{method}"' in page.text
    csp = page.headers["content-security-policy"]
    assert (
        "form-action 'self' https://openapi-sandbox.dl.alipaydev.com https://wx.tenpay.com" in csp
    )


async def test_the_top_up_page_names_the_methods_in_chinese(
    fresh_client: httpx.AsyncClient, wired: FastAPI
):
    _, token, _ = await ready_user(fresh_client, wired)
    page = await fresh_client.get(
        "/wallet/topup", headers={**bearer(token), "Accept-Language": "zh-CN"}
    )
    for fragment in ("支付宝", "微信支付", "每笔 ¥10.00 至 ¥500.00", "手续费：¥0.50"):
        assert fragment in page.text
