"""The Alipay mobile-web-pay acquirer against the Open Platform's documented protocol: the signing
strings the docs publish, the signed ``alipay.trade.wap.pay`` URL and notifications, checked
against vectors recorded with throwaway test keys (tests/data/acquirers/README.md)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from qianbao.kernel.clock import FrozenClock
from qianbao.kernel.errors import ValidationFailed
from qianbao.rails import CallbackRejected, CardPaymentRequest
from qianbao.rails.alipay import (
    SUCCESS_REPLY,
    AlipayAcquirer,
    load_private_key,
    load_public_key,
    rsa2_sign,
    rsa2_verify,
    sign_content,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "acquirers"


def _read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


APP_PRIVATE = _read("alipay_test_app_private.pem")
APP_PUBLIC = _read("alipay_test_app_public.pem")
ALIPAY_PRIVATE = _read("alipay_test_alipay_private.pem")
ALIPAY_PUBLIC = _read("alipay_test_alipay_public.pem")
# A key nobody trusts, made once for this module.
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APP_ID = "2021004100000001"
REQUEST = CardPaymentRequest(
    reference="0193c0de-0000-7000-8000-000000000001",
    amount=12_345,
    currency="CNY",
    card_number="6222020000000004242",
    holder_name="王小明",
    description="Qianbao top-up 202611220000000001",
    return_path="/wallet/topup/0193c0de-0000-7000-8000-000000000001",
    notify_path="/api/v1/payments/alipay/notify",
    site="https://wallet.example.com",
)
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)  # 16:30:00 in Beijing
NOTIFIED = NOW + timedelta(seconds=10)  # when the recorded notification is received


def _acquirer(**kwargs: object) -> AlipayAcquirer:
    options: dict[str, object] = {
        "app_id": APP_ID,
        "app_private_key": APP_PRIVATE,
        "alipay_public_key": ALIPAY_PUBLIC,
        "clock": lambda: NOW,
    }
    return AlipayAcquirer(**{**options, **kwargs})  # type: ignore[arg-type]


def _recorded() -> dict[str, str]:
    return dict(parse_qsl(_read("alipay_notify_trade_success.txt"), keep_blank_values=True))


def _signed(fields: dict[str, str], key: rsa.RSAPrivateKey | None = None) -> bytes:
    """A notification as Alipay would send it: re-signed over the changed fields."""
    fields = {k: v for k, v in fields.items() if k != "sign"}
    signer = key or load_private_key(ALIPAY_PRIVATE)
    content = sign_content(fields, exclude=("sign", "sign_type"))
    return urlencode({**fields, "sign": rsa2_sign(signer, content)}).encode()


def test_the_documented_request_signing_string():
    """The example of https://opendocs.alipay.com/common/02kf5q (自行实现签名), verbatim."""
    params = {
        "app_id": "2014072300007148",
        "method": "alipay.mobile.public.menu.add",
        "charset": "GBK",
        "sign_type": "RSA2",
        "timestamp": "2014-07-24 03:07:50",
        "biz_content": '{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},'
        '{"name":"查询","subButton":[{"actionParam":"ZFB_YECX","actionType":"out","name":'
        '"余额查询"},{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},'
        '{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},{"actionParam":'
        '"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}',
        "version": "1.0",
        "sign": "left out of its own string",
        "app_auth_token": "",  # empty values are left out too
    }
    assert sign_content(params) == (
        'app_id=2014072300007148&biz_content={"button":[{"actionParam":"ZFB_HFCZ","actionType":'
        '"out","name":"话费充值"},{"name":"查询","subButton":[{"actionParam":"ZFB_YECX",'
        '"actionType":"out","name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":"out",'
        '"name":"流量查询"},{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},'
        '{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}'
        "&charset=GBK&method=alipay.mobile.public.menu.add&sign_type=RSA2"
        "&timestamp=2014-07-24 03:07:50&version=1.0"
    )


def test_the_documented_notification_signing_string():
    """The notification example of https://opendocs.alipay.com/common/02mse7 (自行实现验签):
    every field but ``sign`` and ``sign_type``, URL-decoded, sorted. (The string printed there
    leaves ``gmt_create`` out, against its own rule and the SDK's ``rsaCheckV1``; it is in here.)"""
    fields = {
        "total_amount": "2.00",
        "buyer_id": "2088102116773037",
        "body": "大乐透2.1",
        "trade_no": "2016071921001003030200089909",
        "refund_fee": "0.00",
        "notify_time": "2016-07-19 14:10:49",
        "subject": "大乐透2.1",
        "sign_type": "RSA2",
        "charset": "utf-8",
        "notify_type": "trade_status_sync",
        "out_trade_no": "0719141034-6418",
        "gmt_close": "2016-07-19 14:10:46",
        "gmt_payment": "2016-07-19 14:10:47",
        "trade_status": "TRADE_SUCCESS",
        "version": "1.0",
        "sign": "kPbQIjX+xQc8F0/A6/AocELIjhhZnGbcBN6G4MM/HmfWL4ZiHM6fWl5NQhzXJusaklZ1LFuMo+lHQUELAYeug"
        "H8LYFvxnNajOvZhuxNFbN2LhF0l/KL8ANtj8oyPM4NN7Qft2kWJTDJUpQOzCzNnV9hDxh5AaT9FPqRS6ZKxnzM=",
        "gmt_create": "2016-07-19 14:10:44",
        "app_id": "2015102700040153",
        "seller_id": "2088102119685838",
        "notify_id": "4a91b7a78a503640467525113fb7d8bg8e",
    }
    posted = dict(parse_qsl(urlencode(fields)))  # as the form arrives: encoded, then decoded
    assert sign_content(posted, exclude=("sign", "sign_type")) == (
        "app_id=2015102700040153&body=大乐透2.1&buyer_id=2088102116773037&charset=utf-8"
        "&gmt_close=2016-07-19 14:10:46&gmt_create=2016-07-19 14:10:44"
        "&gmt_payment=2016-07-19 14:10:47&notify_id=4a91b7a78a503640467525113fb7d8bg8e"
        "&notify_time=2016-07-19 14:10:49&notify_type=trade_status_sync"
        "&out_trade_no=0719141034-6418&refund_fee=0.00&seller_id=2088102119685838"
        "&subject=大乐透2.1&total_amount=2.00&trade_no=2016071921001003030200089909"
        "&trade_status=TRADE_SUCCESS&version=1.0"
    )


def test_wap_pay_url_is_the_recorded_one():
    created = asyncio.run(_acquirer().create_payment(None, REQUEST))
    # A fixed key, time and request give a fixed signature: the whole URL is the recorded one.
    assert created.confirmation_url == _read("alipay_wap_pay_url.txt")
    assert created.provider_ref == "0193c0de000070008000000000000001"
    url = urlsplit(created.confirmation_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://openapi.alipay.com/gateway.do"
    params = dict(parse_qsl(url.query, strict_parsing=True))
    assert sign_content(params) == _read("alipay_wap_pay_sign_content.txt")
    assert rsa2_verify(load_public_key(APP_PUBLIC), sign_content(params), params["sign"])
    assert {k: params[k] for k in ("app_id", "method", "format", "charset", "sign_type")} == {
        "app_id": APP_ID,
        "method": "alipay.trade.wap.pay",
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
    }
    assert params["timestamp"] == "2026-11-22 16:30:00"  # Beijing time
    assert params["version"] == "1.0"
    assert params["notify_url"] == "https://wallet.example.com/api/v1/payments/alipay/notify"
    assert params["return_url"] == f"https://wallet.example.com{REQUEST.return_path}"
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": "0193c0de000070008000000000000001",
        "total_amount": "123.45",
        "subject": "Qianbao top-up 202611220000000001",
        "product_code": "QUICK_WAP_WAY",
        "quit_url": f"https://wallet.example.com{REQUEST.return_path}",
    }
    assert REQUEST.card_number not in created.confirmation_url  # the user pays in Alipay


def test_wap_pay_reads_the_sessions_clock_and_a_sandbox_gateway():
    session = SimpleNamespace(
        info={"clock": FrozenClock(datetime(2027, 1, 31, 17, 5, 9, tzinfo=UTC))}
    )
    acq = _acquirer(clock=None, gateway_url="https://openapi-sandbox.dl.alipaydev.com/gateway.do")
    created = asyncio.run(acq.create_payment(session, REQUEST))
    assert created.confirmation_url.startswith(
        "https://openapi-sandbox.dl.alipaydev.com/gateway.do?"
    )
    params = dict(parse_qsl(urlsplit(created.confirmation_url).query))
    assert params["timestamp"] == "2027-02-01 01:05:09"  # the next day in Beijing
    assert rsa2_verify(load_public_key(APP_PUBLIC), sign_content(params), params["sign"])


@pytest.mark.parametrize(
    ("fen", "yuan"), [(1, "0.01"), (10, "0.10"), (100, "1.00"), (10_000_000_000, "100000000.00")]
)
def test_amounts_are_exact_yuan(fen: int, yuan: str):
    created = asyncio.run(
        _acquirer().create_payment(None, dataclasses.replace(REQUEST, amount=fen))
    )
    params = dict(parse_qsl(urlsplit(created.confirmation_url).query))
    assert json.loads(params["biz_content"])["total_amount"] == yuan


def test_only_yuan_is_accepted():
    with pytest.raises(ValidationFailed):
        asyncio.run(_acquirer().create_payment(None, dataclasses.replace(REQUEST, currency="USD")))


def test_the_recorded_notification():
    body = _read("alipay_notify_trade_success.txt").encode()
    fields = dict(parse_qsl(body.decode()))
    assert sign_content(fields, exclude=("sign", "sign_type")) == _read(
        "alipay_notify_trade_success_sign_content.txt"
    )
    event = _acquirer().parse_callback({}, body, NOTIFIED)
    assert event is not None
    assert event.status == "succeeded"
    assert (event.amount, event.currency) == (12_345, "CNY")
    assert event.reference == REQUEST.reference
    # The top-up is found by what create_payment returned: our out_trade_no, not Alipay's trade_no.
    assert event.provider_ref == "0193c0de000070008000000000000001"
    assert SUCCESS_REPLY == "success"


def test_a_tampered_amount_is_refused():
    body = _read("alipay_notify_trade_success.txt")
    assert "total_amount=123.45" in body
    for forged in (
        body.replace("total_amount=123.45", "total_amount=1123.45"),
        body.replace("total_amount=123.45", "total_amount=12345"),
    ):
        with pytest.raises(CallbackRejected):
            _acquirer().parse_callback({}, forged.encode(), NOTIFIED)


def test_another_apps_notification_is_refused():
    other = _signed({**_recorded(), "app_id": "2021004199999999"})
    with pytest.raises(CallbackRejected):
        _acquirer().parse_callback({}, other, NOTIFIED)
    # A seller id, when configured, must be ours too.
    assert _acquirer(seller_id="2088621000000001").parse_callback(
        {}, _signed(_recorded()), NOTIFIED
    )
    with pytest.raises(CallbackRejected):
        _acquirer(seller_id="2088000000000002").parse_callback({}, _signed(_recorded()), NOTIFIED)


def test_stale_or_undated_notifications_are_refused():
    body = _read("alipay_notify_trade_success.txt").encode()
    acq = _acquirer()
    assert acq.parse_callback({}, body, NOW + timedelta(minutes=5)) is not None
    for when in (NOW + timedelta(minutes=6), NOW - timedelta(minutes=6), NOW + timedelta(days=1)):
        with pytest.raises(CallbackRejected):
            acq.parse_callback({}, body, when)
    for notify_time in ("", "2026-11-22T16:30:04", "yesterday"):
        with pytest.raises(CallbackRejected):
            acq.parse_callback({}, _signed({**_recorded(), "notify_time": notify_time}), NOTIFIED)


def test_bad_signatures_are_refused():
    recorded = _recorded()
    acq = _acquirer()
    bad = [
        _signed(recorded, key=STRANGER),
        _signed(recorded, key=load_private_key(APP_PRIVATE)),  # our own key is not Alipay's
        urlencode({k: v for k, v in recorded.items() if k != "sign"}).encode(),
        urlencode({**recorded, "sign": "not base64!"}).encode(),
        urlencode({**recorded, "sign_type": "RSA"}).encode(),  # SHA1withRSA: not accepted
        _read("alipay_notify_trade_success.txt").encode() + b"&trade_status=TRADE_CLOSED",
        b"\xff\xfe",
        b"",
        b"{}",
    ]
    for body in bad:
        with pytest.raises(CallbackRejected):
            acq.parse_callback({}, body, NOTIFIED)


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"trade_status": "WAIT_BUYER_PAY"}, None),
        ({"trade_status": "TRADE_CLOSED"}, "cancelled"),
        ({"trade_status": "TRADE_FINISHED"}, "succeeded"),
        ({"trade_status": "SOMETHING_NEW"}, None),
        # A partial refund is notified as TRADE_SUCCESS with refund fields: not a new payment.
        ({"refund_fee": "23.45", "gmt_refund": "2026-11-22 16:30:03.201"}, None),
    ],
)
def test_trade_statuses(changes: dict[str, str], status: str | None):
    event = _acquirer().parse_callback({}, _signed({**_recorded(), **changes}), NOTIFIED)
    assert (event.status if event else None) == status


def test_keys_as_alipays_tools_give_them():
    """Alipay's key tool and console give bare base64 (no PEM armour); PKCS#1 works too."""

    def bare(pem: str) -> str:
        return "".join(line for line in pem.splitlines() if not line.startswith("-----"))

    pkcs1 = load_private_key(APP_PRIVATE).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    for private in (bare(APP_PRIVATE), base64.b64encode(pkcs1).decode()):
        acq = _acquirer(app_private_key=private, alipay_public_key=bare(ALIPAY_PUBLIC))
        created = asyncio.run(acq.create_payment(None, REQUEST))
        assert created.confirmation_url == _read("alipay_wap_pay_url.txt")
        body = _read("alipay_notify_trade_success.txt").encode()
        assert acq.parse_callback({}, body, NOTIFIED) is not None
