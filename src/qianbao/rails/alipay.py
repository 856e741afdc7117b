"""A card acquirer on Alipay mobile-web pay (手机网站支付), written against the Alipay Open
Platform's documented protocol, no SDK:

- ``alipay.trade.wap.pay``: https://opendocs.alipay.com/open/29ae8cb6_alipay.trade.wap.pay
- request signing (自行实现签名): https://opendocs.alipay.com/common/02kf5q
- notification verification (自行实现验签): https://opendocs.alipay.com/common/02mse7
- the asynchronous notification (异步通知): https://opendocs.alipay.com/open/203/105286

``create_payment`` makes no HTTP call: page pay is a browser redirect. The common parameters
(``app_id``, ``method=alipay.trade.wap.pay``, ``format=JSON``, ``charset=utf-8``,
``sign_type=RSA2``, ``timestamp`` as ``yyyy-MM-dd HH:mm:ss`` Beijing time, ``version=1.0``,
``notify_url``, ``return_url``) and ``biz_content`` (JSON: ``out_trade_no``, ``total_amount`` in
yuan with two decimals, ``subject``, ``product_code=QUICK_WAP_WAY``, ``quit_url``) are signed with
the app's private key — SHA256withRSA (PKCS#1 v1.5) over every parameter but ``sign`` with a
non-empty value, sorted by name, ``k=v`` joined by ``&``, base64 — and the confirmation URL is
the gateway with the signed parameters as its query string.

``parse_callback``: Alipay posts the notification as ``application/x-www-form-urlencoded``. The
``sign`` is checked with Alipay's public key over every other non-empty parameter except
``sign_type`` (URL-decoded, sorted, ``k=v&``), then ``app_id`` (and ``seller_id`` if configured)
must be ours and ``notify_time`` (Beijing time; each retry carries a new one) within the
tolerance. ``TRADE_SUCCESS``/``TRADE_FINISHED`` → succeeded, ``TRADE_CLOSED`` → cancelled,
``WAIT_BUYER_PAY`` → ``None``; a partial-refund notification (it carries ``gmt_refund``) → ``None``.

Our reference is sent as ``out_trade_no`` (a UUID as its 32 hex digits: the docs allow letters,
digits and underscores) and is the ``provider_ref`` both here and in the callback: the wallet
finds a top-up by the ``provider_ref`` ``create_payment`` returned, and Alipay's own ``trade_no``
does not exist before the user pays.

``query_payment`` (a stuck top-up re-queried from the console): ``alipay.trade.query``
(https://opendocs.alipay.com/open/4e2d51d1_alipay.trade.query), the same signed common parameters
with ``biz_content`` ``{"out_trade_no": …}`` POSTed form-encoded to the gateway. The answer is
JSON ``{"alipay_trade_query_response": {…}, "sign": "…"}``; the signature covers the response
node's text exactly as sent (自行实现验签, 同步响应) and is checked with Alipay's public key before
the answer is trusted. ``code`` 10000 with ``trade_status`` as in the notification; 40004
``ACQ.TRADE_NOT_EXIST`` (the user never opened Alipay) → ``None``, as ``WAIT_BUYER_PAY``.

The notify route must answer the plain-text body ``success`` (``SUCCESS_REPLY``) once the
notification is handled — anything else (e.g. ``failure``) makes Alipay retry, 8 times over about
25 hours (4m, 10m, 10m, 1h, 2h, 6h, 15h).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import ServiceUnavailable, ValidationFailed
from qianbao.kernel.logging import get_logger
from qianbao.kernel.money import Money, MoneyError
from qianbao.rails.acquiring import (
    CallbackRejected,
    CardPaymentCreated,
    CardPaymentEvent,
    CardPaymentRequest,
    Outcome,
)

log = get_logger(__name__)

GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
SUCCESS_REPLY = "success"  # the notify route's plain-text answer once a notification is handled
FAILURE_REPLY = "failure"
# Alipay's protocol times are Beijing time without an offset.
BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
STATUSES: dict[str, Outcome | None] = {
    "TRADE_SUCCESS": "succeeded",
    "TRADE_FINISHED": "succeeded",  # paid, and the refund period is over (or no refunds)
    "TRADE_CLOSED": "cancelled",  # unpaid and timed out, or fully refunded
    "WAIT_BUYER_PAY": None,
}


def sign_content(params: Mapping[str, str], exclude: Iterable[str] = ("sign",)) -> str:
    """The string Alipay signs: non-empty parameters but ``exclude``, sorted, ``k=v`` by ``&``."""
    skip = set(exclude)
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in skip and params[k])


def rsa2_sign(private_key: rsa.RSAPrivateKey, content: str) -> str:
    raw = private_key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def rsa2_verify(public_key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, content.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _key_bytes(key: str | bytes) -> tuple[bytes, bool]:
    """A key as Alipay's tools give it: PEM, or the bare base64 of its DER (no header)."""
    data = key.encode() if isinstance(key, str) else key
    if b"-----BEGIN" in data:
        return data, True
    return base64.b64decode(b"".join(data.split())), False


def load_private_key(key: str | bytes) -> rsa.RSAPrivateKey:
    """The app's private key: PEM or bare base64 DER, PKCS#8 or PKCS#1."""
    data, pem = _key_bytes(key)
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    loaded = loader(data, password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError("the Alipay app key must be an RSA key")
    return loaded


def load_public_key(key: str | bytes) -> rsa.RSAPublicKey:
    """Alipay's public key (支付宝公钥): PEM or bare base64 DER (SubjectPublicKeyInfo)."""
    data, pem = _key_bytes(key)
    loaded = (
        serialization.load_pem_public_key(data) if pem else serialization.load_der_public_key(data)
    )
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise ValueError("the Alipay public key must be an RSA key")
    return loaded


def out_trade_no(reference: str) -> str:
    """Our reference as Alipay's ``out_trade_no``: a UUID as its 32 hex digits."""
    try:
        ident = uuid.UUID(reference)
    except ValueError:
        return reference
    return ident.hex if str(ident) == reference else reference


def reference_of(trade_no: str) -> str:
    """The inverse of ``out_trade_no``."""
    if len(trade_no) == 32:
        try:
            return str(uuid.UUID(hex=trade_no))
        except ValueError:
            pass
    return trade_no


def response_node(text: str, name: str) -> str | None:
    """The text of ``"<name>": {...}`` in an answer exactly as sent (what Alipay signed): from
    its opening brace to the brace that closes it (braces inside strings skipped)."""
    start = text.find(f'"{name}"')
    if start < 0:
        return None
    start = text.find("{", start)
    if start < 0:
        return None
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _subject(description: str) -> str:
    # The docs refuse special characters such as / = & in the subject (at most 256 characters).
    return "".join(" " if c in "/=&" else c for c in description)[:256].strip() or "Top-up"


class AlipayAcquirer:
    name = "alipay"

    def __init__(
        self,
        *,
        app_id: str,
        app_private_key: str | bytes,
        alipay_public_key: str | bytes,
        gateway_url: str = GATEWAY,
        seller_id: str | None = None,
        tolerance_s: int = 300,
        clock: Callable[[], datetime] | None = None,
        timeout_s: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``app_private_key``: the app's RSA2 private key (应用私钥); ``alipay_public_key``:
        Alipay's public key from the console (支付宝公钥, not the app's own public key); either
        as PEM or bare base64. ``seller_id`` (the merchant's 2088… PID), when given, must match
        the notification's. ``clock``: the time the request is signed at; by default the clock of
        the session ``create_payment`` is given (the machine's UTC time outside the app)."""
        self._app_id = app_id
        self._private_key = load_private_key(app_private_key)
        self._alipay_key = load_public_key(alipay_public_key)
        self._gateway = gateway_url
        self._seller_id = seller_id
        self._tolerance_s = tolerance_s
        self._clock = clock
        self._timeout_s = timeout_s
        self._transport = transport

    async def create_payment(self, session: Any, request: CardPaymentRequest) -> CardPaymentCreated:
        if request.currency != "CNY":
            raise ValidationFailed()  # mobile-web pay takes yuan only
        now = self._clock() if self._clock is not None else clock_of(session).now()
        trade_no = out_trade_no(request.reference)
        back = request.absolute(request.return_path)
        biz = {
            "out_trade_no": trade_no,
            "total_amount": Money(request.amount, "CNY").to_decimal_string(),
            "subject": _subject(request.description),
            "product_code": "QUICK_WAP_WAY",
            "quit_url": back,  # where "leave" in Alipay's page goes
        }
        params = {
            "app_id": self._app_id,
            "method": "alipay.trade.wap.pay",
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": now.astimezone(BEIJING).strftime(TIME_FORMAT),
            "version": "1.0",
            "notify_url": request.notify_url(),
            "return_url": back,
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        params["sign"] = rsa2_sign(self._private_key, sign_content(params))
        url = f"{self._gateway}?{urlencode(params, quote_via=quote)}"
        return CardPaymentCreated(provider_ref=trade_no, confirmation_url=url)

    def _signed(
        self, method: str, now: datetime, biz: Mapping[str, Any], **extra: str
    ) -> dict[str, str]:
        params = {
            "app_id": self._app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": now.astimezone(BEIJING).strftime(TIME_FORMAT),
            "version": "1.0",
            **extra,
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        params["sign"] = rsa2_sign(self._private_key, sign_content(params))
        return params

    async def query_payment(self, session: Any, provider_ref: str) -> CardPaymentEvent | None:
        now = self._clock() if self._clock is not None else clock_of(session).now()
        params = self._signed("alipay.trade.query", now, {"out_trade_no": provider_ref})
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s, transport=self._transport) as c:
                response = await c.post(self._gateway, data=params)
        except httpx.HTTPError as exc:
            log.warning("alipay.unreachable", error=type(exc).__name__)
            raise ServiceUnavailable() from exc
        node = response_node(response.text, "alipay_trade_query_response")
        try:
            answer = json.loads(response.text)
            body = answer["alipay_trade_query_response"]
            signature = str(answer.get("sign") or "")
        except (ValueError, KeyError, TypeError):
            log.warning("alipay.bad_answer", status=response.status_code)
            raise ServiceUnavailable() from None
        if node is None or not rsa2_verify(self._alipay_key, node, signature):
            log.warning("alipay.untrusted_answer", status=response.status_code)
            raise ServiceUnavailable()
        if body.get("code") != "10000":
            if body.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return None
            log.warning("alipay.query_refused", code=body.get("code"), sub=body.get("sub_code"))
            raise ServiceUnavailable()
        status = STATUSES.get(str(body.get("trade_status", "")))
        if status is None:
            return None
        try:
            amount = Money.parse(str(body["total_amount"]), "CNY").minor
        except (KeyError, MoneyError):
            raise ServiceUnavailable() from None
        return CardPaymentEvent(
            provider_ref=provider_ref,
            reference=reference_of(provider_ref),
            status=status,
            amount=amount,
            currency="CNY",
        )

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> CardPaymentEvent | None:
        try:
            pairs = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict"
            )
        except (UnicodeDecodeError, ValueError):
            raise CallbackRejected() from None
        params = dict(pairs)
        if len(params) != len(pairs):
            raise CallbackRejected()  # a repeated field: which one was signed?
        content = sign_content(params, exclude=("sign", "sign_type"))
        if params.get("sign_type", "RSA2") != "RSA2" or not rsa2_verify(
            self._alipay_key, content, params.get("sign", "")
        ):
            log.warning("alipay.bad_signature", notify_id=params.get("notify_id"))
            raise CallbackRejected()
        if params.get("app_id") != self._app_id:
            log.warning("alipay.foreign_app", app_id=params.get("app_id"))
            raise CallbackRejected()
        if self._seller_id is not None and params.get("seller_id") != self._seller_id:
            log.warning("alipay.foreign_seller", seller_id=params.get("seller_id"))
            raise CallbackRejected()
        try:
            sent = datetime.strptime(params.get("notify_time", ""), TIME_FORMAT).replace(
                tzinfo=BEIJING
            )
        except ValueError:
            raise CallbackRejected() from None
        if abs((now - sent).total_seconds()) > self._tolerance_s:
            log.warning("alipay.stale", notify_id=params.get("notify_id"))
            raise CallbackRejected()
        trade_status = params.get("trade_status", "")
        if trade_status not in STATUSES:
            log.info("alipay.ignored", trade_status=trade_status)
            return None
        status = STATUSES[trade_status]
        if status is None or params.get("gmt_refund"):
            return None  # not paid yet, or a partial refund of a paid trade
        try:
            amount = Money.parse(params["total_amount"], "CNY").minor
            trade_no = params["out_trade_no"]
        except (KeyError, MoneyError):
            raise CallbackRejected() from None
        if not trade_no:
            raise CallbackRejected()
        return CardPaymentEvent(
            provider_ref=trade_no,
            reference=reference_of(trade_no),
            status=status,
            amount=amount,
            currency="CNY",
        )
