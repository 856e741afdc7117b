"""The WeChat Pay H5 acquirer against API v3's documented protocol: the signing strings the docs
publish, the H5 order it sends (an httpx mock transport stands in for api.mch.weixin.qq.com) and
callbacks, checked against vectors recorded with throwaway test keys
(tests/data/acquirers/README.md)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qianbao.kernel.clock import FrozenClock
from qianbao.kernel.errors import ServiceUnavailable, ValidationFailed
from qianbao.rails import CallbackRejected, CardPaymentRequest
from qianbao.rails.wechatpay import (
    WechatPayAcquirer,
    request_message,
    response_message,
    sign,
    verify,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "acquirers"


def _read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def _private(name: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((DATA / name).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


MERCHANT_KEY = _private("wechatpay_test_merchant_private.pem")
PLATFORM_KEY = _private("wechatpay_test_platform_private.pem")
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # once per module
CERT_SERIAL = "4F1D6E0A8B3C2D5E7F9A0B1C2D3E4F5061728394"
PUBKEY_ID = "PUB_KEY_ID_0119000091912026112200000001"
MCH_SERIAL = "4B2F0E7A1C3D5E6F708192A3B4C5D6E7F8091A2B"
API_V3_KEY = "QianbaoTestApiV3Key0123456789abc"
REQUEST = CardPaymentRequest(
    reference="0193c0de-0000-7000-8000-000000000001",
    amount=12_345,
    currency="CNY",
    card_number="6222020000000004242",
    holder_name="王小明",
    description="Qianbao top-up 202611220000000001",
    return_path="/wallet/topup/0193c0de-0000-7000-8000-000000000001",
    notify_path="/api/v1/payments/wechatpay/notify",
    site="https://wallet.example.com",
)
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)  # Unix 1795336200
NOTIFIED = NOW + timedelta(seconds=10)
H5_RESPONSE = (DATA / "wechatpay_h5_response.json").read_bytes()
H5_HEADERS: dict[str, str] = json.loads(_read("wechatpay_h5_response_headers.json"))
NOTIFY_BODY = (DATA / "wechatpay_notify_transaction_success.json").read_bytes()
NOTIFY_HEADERS: dict[str, str] = json.loads(
    _read("wechatpay_notify_transaction_success_headers.json")
)
TRANSACTION: dict[str, Any] = json.loads(
    _read("wechatpay_notify_transaction_success_plaintext.json")
)


def _acquirer(handler: Any = None, **kwargs: Any) -> WechatPayAcquirer:
    options: dict[str, Any] = {
        "appid": "wxd678efh567hg6787",
        "mchid": "1900009191",
        "merchant_serial_no": MCH_SERIAL,
        "merchant_private_key": _read("wechatpay_test_merchant_private.pem"),
        "api_v3_key": API_V3_KEY,
        "platform_keys": {
            CERT_SERIAL: _read("wechatpay_test_platform_cert.pem"),
            PUBKEY_ID: _read("wechatpay_test_platform_public.pem"),
        },
        "fallback_client_ip": "203.0.113.7",
        "transport": httpx.MockTransport(handler or (lambda r: httpx.Response(500))),
        "clock": lambda: NOW,
        "nonce": lambda: "593BEC0C930BF1AFEB40B4A08C8FB242",
    }
    return WechatPayAcquirer(**{**options, **kwargs})


def _signed_headers(
    body: bytes,
    *,
    serial: str = PUBKEY_ID,
    at: datetime = NOW,
    key: rsa.RSAPrivateKey | None = None,
) -> dict[str, str]:
    timestamp, nonce = str(int(at.timestamp())), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
    return {
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature": sign(key or PLATFORM_KEY, response_message(timestamp, nonce, body)),
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Wechatpay-Timestamp": timestamp,
    }


def _callback(
    event_type: str = "TRANSACTION.SUCCESS", v3_key: str = API_V3_KEY, **changes: Any
) -> tuple[dict[str, str], bytes]:
    """A callback as WeChat Pay would send one: the transaction encrypted, the body signed."""
    plain = json.dumps({**TRANSACTION, **changes}, ensure_ascii=False).encode()
    nonce = "m1Qx8Zr2Kp0V"
    event = json.loads(NOTIFY_BODY)
    event["event_type"] = event_type
    event["resource"] = {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(
            AESGCM(v3_key.encode()).encrypt(nonce.encode(), plain, b"transaction")
        ).decode(),
        "associated_data": "transaction",
        "nonce": nonce,
    }
    body = json.dumps(event, ensure_ascii=False).encode()
    return _signed_headers(body), body


def test_the_documented_signing_strings():
    """The examples of the signing and verification guides
    (https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_0.shtml and 4_1): five lines
    for a request (an empty body still ends its line), three for an answer."""
    assert request_message(
        "GET", "/v3/certificates", 1554208460, "593BEC0C930BF1AFEB40B4A08C8FB242", b""
    ) == (b"GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n")
    assert response_message("1554209980", "c5ac7061fccab6bf3e254dcf98995b8c", b'{"data":[]}') == (
        b'1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n{"data":[]}\n'
    )


def test_h5_order_is_the_recorded_request():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=H5_RESPONSE, headers=H5_HEADERS)

    created = asyncio.run(_acquirer(handler).create_payment(None, REQUEST))
    (request,) = seen
    assert request.method == "POST"
    assert request.url == "https://api.mch.weixin.qq.com/v3/pay/transactions/h5"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    # Fixed key, time, nonce and request: body and signature are the recorded ones.
    assert request.content == (DATA / "wechatpay_h5_request.json").read_bytes()
    assert request.headers["authorization"] == _read("wechatpay_h5_request_authorization.txt")
    assert json.loads(request.content) == {
        "appid": "wxd678efh567hg6787",
        "mchid": "1900009191",
        "description": "Qianbao top-up 202611220000000001",
        "out_trade_no": "0193c0de000070008000000000000001",
        "notify_url": "https://wallet.example.com/api/v1/payments/wechatpay/notify",
        "amount": {"total": 12_345, "currency": "CNY"},
        "scene_info": {"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}},
    }
    assert REQUEST.card_number.encode() not in request.content
    assert created.provider_ref == "0193c0de000070008000000000000001"
    assert created.confirmation_url == (
        "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id="
        "wx22163000123456789abcdef0123456789&package=2712345678&redirect_url="
        "https%3A%2F%2Fwallet.example.com%2Fwallet%2Ftopup%2F0193c0de-0000-7000-8000-000000000001"
    )


def test_the_authorization_header_verifies_with_the_merchant_key():
    """With the session's clock and a random nonce: the header's five fields sign the request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = H5_RESPONSE
        return httpx.Response(
            200, content=body, headers=_signed_headers(body, serial=CERT_SERIAL, at=later)
        )

    later = datetime(2027, 3, 1, 4, 0, 7, tzinfo=UTC)
    session = SimpleNamespace(info={"clock": FrozenClock(later)})
    on_ip = dataclasses.replace(REQUEST, client_ip="198.51.100.23")
    acq = _acquirer(handler, clock=None, nonce=None)
    asyncio.run(acq.create_payment(session, on_ip))
    (request,) = seen
    scheme, _, params = request.headers["authorization"].partition(" ")
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    fields = dict(part.split("=", 1) for part in params.split(","))
    fields = {k: v.strip('"') for k, v in fields.items()}
    assert set(fields) == {"mchid", "nonce_str", "signature", "timestamp", "serial_no"}
    assert (fields["mchid"], fields["serial_no"]) == ("1900009191", MCH_SERIAL)
    assert fields["timestamp"] == str(int(later.timestamp()))
    assert len(fields["nonce_str"]) == 32
    message = request_message(
        "POST",
        "/v3/pay/transactions/h5",
        int(fields["timestamp"]),
        fields["nonce_str"],
        request.content,
    )
    assert verify(MERCHANT_KEY.public_key(), message, fields["signature"])
    assert json.loads(request.content)["scene_info"]["payer_client_ip"] == "198.51.100.23"


def test_provider_down_refused_or_untrusted_is_unavailable():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down")

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    def answer(status: int, body: bytes, headers: dict[str, str]):
        return lambda request: httpx.Response(status, content=body, headers=headers)

    error = json.dumps({"code": "SYSTEM_ERROR", "message": "系统错误"}).encode()
    forged = b'{"h5_url":"https://attacker.example/pay"}'
    signtest = {
        **H5_HEADERS,
        "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + H5_HEADERS["Wechatpay-Signature"],
    }
    handlers = [
        down,
        slow,
        answer(500, error, _signed_headers(error, serial=CERT_SERIAL)),
        answer(503, b"", {}),
        answer(400, json.dumps({"code": "PARAM_ERROR", "message": "x"}).encode(), {}),
        answer(200, forged, H5_HEADERS),  # a body the signature does not cover
        answer(200, H5_RESPONSE, _signed_headers(H5_RESPONSE, serial=CERT_SERIAL, key=STRANGER)),
        answer(200, H5_RESPONSE, _signed_headers(H5_RESPONSE, serial="0000UNKNOWN")),
        answer(200, H5_RESPONSE, {}),
        answer(200, H5_RESPONSE, signtest),
        answer(
            200,
            H5_RESPONSE,
            _signed_headers(H5_RESPONSE, serial=CERT_SERIAL, at=NOW - timedelta(hours=1)),
        ),
        answer(200, b"{}", _signed_headers(b"{}", serial=CERT_SERIAL)),
    ]
    for handler in handlers:
        with pytest.raises(ServiceUnavailable):
            asyncio.run(_acquirer(handler).create_payment(None, REQUEST))


def test_only_yuan_is_accepted():
    with pytest.raises(ValidationFailed):
        asyncio.run(_acquirer().create_payment(None, dataclasses.replace(REQUEST, currency="HKD")))


def test_the_recorded_notification():
    event = _acquirer().parse_callback(NOTIFY_HEADERS, NOTIFY_BODY, NOTIFIED)
    assert event is not None
    assert event.status == "succeeded"
    assert (event.amount, event.currency) == (12_345, "CNY")
    assert event.reference == REQUEST.reference
    # The top-up is found by what create_payment returned: our out_trade_no (the H5 answer has
    # no transaction_id).
    assert event.provider_ref == "0193c0de000070008000000000000001"
    # Headers as the web framework hands them over (lower case) work the same.
    lower = {k.lower(): v for k, v in NOTIFY_HEADERS.items()}
    assert _acquirer().parse_callback(lower, NOTIFY_BODY, NOTIFIED) == event


def test_a_tampered_amount_is_refused():
    """Re-encrypted with the right key, but under the recorded signature: refused."""
    _, body = _callback(amount={**TRANSACTION["amount"], "total": 1_234_500})
    with pytest.raises(CallbackRejected):
        _acquirer().parse_callback(NOTIFY_HEADERS, body, NOTIFIED)
    with pytest.raises(CallbackRejected):
        _acquirer().parse_callback(
            NOTIFY_HEADERS, NOTIFY_BODY.replace(b"TRANSACTION", b"TRANSACTIOn"), NOTIFIED
        )


def test_another_merchants_notification_is_refused():
    for changes in ({"mchid": "1900000109"}, {"appid": "wx0000000000000000"}, {"mchid": None}):
        headers, body = _callback(**changes)
        with pytest.raises(CallbackRejected):
            _acquirer().parse_callback(headers, body, NOW)


def test_stale_notifications_are_refused():
    acq = _acquirer()
    assert acq.parse_callback(NOTIFY_HEADERS, NOTIFY_BODY, NOW + timedelta(minutes=5)) is not None
    for when in (NOW + timedelta(minutes=6), NOW - timedelta(minutes=6), NOW + timedelta(days=1)):
        with pytest.raises(CallbackRejected):
            acq.parse_callback(NOTIFY_HEADERS, NOTIFY_BODY, when)


def test_unknown_serial_or_bad_signatures_are_refused():
    acq = _acquirer()
    headers_of = [
        {**NOTIFY_HEADERS, "Wechatpay-Serial": "PUB_KEY_ID_0119000091912026112299999999"},
        {**NOTIFY_HEADERS, "Wechatpay-Serial": CERT_SERIAL.lower()},
        _signed_headers(NOTIFY_BODY, serial="5157F09EFDC096DE15EBE81A47057A7232F1B8E1"),
        _signed_headers(NOTIFY_BODY, key=STRANGER),
        _signed_headers(NOTIFY_BODY, key=MERCHANT_KEY),  # our own key is not WeChat Pay's
        {
            **NOTIFY_HEADERS,
            "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + NOTIFY_HEADERS["Wechatpay-Signature"],
        },
        {**NOTIFY_HEADERS, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"},
        {**NOTIFY_HEADERS, "Wechatpay-Timestamp": "1795336205"},
        {k: v for k, v in NOTIFY_HEADERS.items() if k != "Wechatpay-Nonce"},
        {},
    ]
    for headers in headers_of:
        with pytest.raises(CallbackRejected):
            acq.parse_callback(headers, NOTIFY_BODY, NOTIFIED)


def test_a_wrong_apiv3_key_is_refused():
    """Genuine and fresh, but it does not decrypt: refused (the operator's key is wrong)."""
    wrong = _acquirer(api_v3_key="QianbaoWrongApiV3Key0123456789ab")
    with pytest.raises(CallbackRejected):
        wrong.parse_callback(NOTIFY_HEADERS, NOTIFY_BODY, NOTIFIED)
    headers, body = _callback(v3_key="QianbaoWrongApiV3Key0123456789ab")
    with pytest.raises(CallbackRejected):
        _acquirer().parse_callback(headers, body, NOW)
    with pytest.raises(ValueError, match="32 bytes"):
        _acquirer(api_v3_key="too short")


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("SUCCESS", "succeeded"),
        ("NOTPAY", None),
        ("USERPAYING", None),
        ("CLOSED", "cancelled"),
        ("PAYERROR", "declined"),
        ("REFUND", None),
        ("SOMETHING_NEW", None),
    ],
)
def test_trade_states(state: str, status: str | None):
    headers, body = _callback(trade_state=state)
    event = _acquirer().parse_callback(headers, body, NOW)
    assert (event.status if event else None) == status


def test_other_events_are_acknowledged_and_ignored():
    headers, body = _callback(event_type="REFUND.SUCCESS")
    assert _acquirer().parse_callback(headers, body, NOW) is None
    for amount in ({"total": "12345", "currency": "CNY"}, {"total": True}, None):
        headers, body = _callback(amount=amount)
        with pytest.raises(CallbackRejected):
            _acquirer().parse_callback(headers, body, NOW)
