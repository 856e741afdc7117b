"""A card acquirer on WeChat Pay H5 payment (API v3), written against the documented protocol with
httpx, no SDK:

- H5 order (H5下单): https://pay.weixin.qq.com/doc/v3/merchant/4012791834
- request signing (签名生成): https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_0.shtml
- response/callback verification (签名验证):
  https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_1.shtml
- callback decryption (回调报文解密):
  https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_2.shtml
- the payment notification (支付通知): https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_3_5.shtml
  and its handling rules: https://pay.weixin.qq.com/doc/v3/merchant/4012075420

- ``create_payment``: ``POST /v3/pay/transactions/h5`` with a JSON body (``appid``, ``mchid``,
  ``description``, ``out_trade_no``, absolute ``notify_url``, ``amount`` {``total`` in fen,
  ``currency=CNY``}, ``scene_info`` {``payer_client_ip``, ``h5_info`` {``type=Wap``}}) and the
  ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,timestamp=…,
  serial_no=…`` header: SHA256withRSA with the merchant's private key over
  ``"METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n"``. The answer's signature is checked
  (``"TIMESTAMP\\nNONCE\\nBODY\\n"``, ``Wechatpay-*`` headers, the platform key of
  ``Wechatpay-Serial``) before its ``h5_url`` is trusted; the confirmation URL is ``h5_url`` with
  ``&redirect_url=`` and our status page (URL-encoded) appended, as the H5 docs say.
- ``parse_callback``: the same header signature over the raw body with the platform key named by
  ``Wechatpay-Serial`` (an unknown serial is refused), the timestamp within the tolerance, then
  ``resource`` is decrypted (AEAD_AES_256_GCM with the APIv3 key, its ``nonce`` and
  ``associated_data``) into the transaction: ``trade_state`` SUCCESS → succeeded, CLOSED →
  cancelled, PAYERROR → declined, NOTPAY/USERPAYING/REFUND/REVOKED → ``None``; ``mchid`` and
  ``appid`` must be ours. Events other than ``TRANSACTION.*`` are acknowledged and ignored.

- ``query_payment`` (a stuck top-up re-queried from the console): ``GET
  /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`` (查询订单, 商户订单号查询:
  https://pay.weixin.qq.com/doc/v3/merchant/4012791859), signed as above (empty body); the answer's
  signature is checked like a callback's, the transaction (plain JSON here) read as a
  notification's; 404 ``ORDER_NOT_EXIST`` → ``None``.

Our reference is sent as ``out_trade_no`` (a UUID as its 32 hex digits: the field takes 6 to 32
characters) and is the ``provider_ref`` here and in the callback: the H5 answer carries no
``transaction_id``, and the wallet finds a top-up by the ``provider_ref`` it stored.

The notify route answers HTTP 200 or 204 (no body needed) once a notification is handled; on
failure a 4xx/5xx with ``{"code": "FAIL", "message": "…"}`` and WeChat Pay retries.

Platform keys: a mapping serial → PEM, either a platform certificate (平台证书, serial = the
certificate's) or a WeChat Pay public key (微信支付公钥, serial ``PUB_KEY_ID_…``), as the operator
downloaded them. Refreshing platform certificates before they expire is not done here.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import ServiceUnavailable, ValidationFailed
from qianbao.kernel.logging import get_logger
from qianbao.rails.acquiring import (
    CallbackRejected,
    CardPaymentCreated,
    CardPaymentEvent,
    CardPaymentRequest,
    Outcome,
)
from qianbao.rails.wechatpay_sign import (  # the v3 signature scheme
    AUTH_SCHEME,
    _header,
    authorization,
    decrypt_resource,
    load_public_key,
    out_trade_no,
    reference_of,
    response_message,
    verify,
)
from qianbao.rails.wechatpay_sign import request_message as request_message  # re-exported
from qianbao.rails.wechatpay_sign import sign as sign  # re-exported

log = get_logger(__name__)

API_BASE = "https://api.mch.weixin.qq.com"
H5_PATH = "/v3/pay/transactions/h5"
STATES: dict[str, Outcome | None] = {
    "SUCCESS": "succeeded",
    "CLOSED": "cancelled",
    "PAYERROR": "declined",
    "NOTPAY": None,
    "USERPAYING": None,
    "REFUND": None,  # paid, then refunded: the refund is not a payment outcome
    "REVOKED": None,
}


class WechatPayAcquirer:
    name = "wechatpay"

    def __init__(
        self,
        *,
        appid: str,
        mchid: str,
        merchant_serial_no: str,
        merchant_private_key: str | bytes,
        api_v3_key: str | bytes,
        platform_keys: Mapping[str, str | bytes],
        base_url: str = API_BASE,
        fallback_client_ip: str = "127.0.0.1",
        tolerance_s: int = 300,
        timeout_s: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        """``merchant_private_key``: PEM of the merchant API certificate's key
        (``apiclient_key.pem``), ``merchant_serial_no`` that certificate's serial;
        ``api_v3_key``: the 32-byte APIv3 key; ``platform_keys``: serial → PEM (module doc).
        ``payer_client_ip`` is the user's IP, which WeChat Pay's risk checks compare with the
        browser opening ``h5_url``: it is read from ``request.client_ip`` when the request has
        one, else ``fallback_client_ip``. ``clock``/``nonce``: the signing time and random
        string (by default the session's clock and 16 random bytes in hex)."""
        key = serialization.load_pem_private_key(
            merchant_private_key.encode()
            if isinstance(merchant_private_key, str)
            else merchant_private_key,
            password=None,
        )
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the merchant key must be RSA")
        v3_key = api_v3_key.encode() if isinstance(api_v3_key, str) else api_v3_key
        if len(v3_key) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        self._appid = appid
        self._mchid = mchid
        self._serial_no = merchant_serial_no
        self._private_key = key
        self._v3_key = v3_key
        self._platform_keys = {s: load_public_key(pem) for s, pem in platform_keys.items()}
        self._base_url = base_url.rstrip("/")
        self._fallback_ip = fallback_client_ip
        self._tolerance_s = tolerance_s
        self._timeout_s = timeout_s
        self._transport = transport
        self._clock = clock
        self._nonce = nonce or (lambda: secrets.token_hex(16).upper())

    def _signature_problem(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> str | None:
        """Why an answer's or a callback's signature is not good, or ``None`` if it is."""
        serial = _header(headers, "Wechatpay-Serial")
        timestamp = _header(headers, "Wechatpay-Timestamp")
        nonce = _header(headers, "Wechatpay-Nonce")
        signature = _header(headers, "Wechatpay-Signature")
        kind = _header(headers, "Wechatpay-Signature-Type")
        if not (serial and timestamp.isdigit() and nonce and signature):
            return "missing"
        if kind and kind != AUTH_SCHEME:
            return "signature_type"
        key = self._platform_keys.get(serial)
        if key is None:
            return "unknown_serial"
        if not verify(key, response_message(timestamp, nonce, body), signature):
            return "bad_signature"
        if abs(now.timestamp() - int(timestamp)) > self._tolerance_s:
            return "stale"
        return None

    async def create_payment(self, session: Any, request: CardPaymentRequest) -> CardPaymentCreated:
        if request.currency != "CNY":
            raise ValidationFailed()
        now = self._clock() if self._clock is not None else clock_of(session).now()
        trade_no = out_trade_no(request.reference)
        payload = {
            "appid": self._appid,
            "mchid": self._mchid,
            "description": request.description[:127],
            "out_trade_no": trade_no,
            "notify_url": request.notify_url(),
            "amount": {"total": request.amount, "currency": "CNY"},
            "scene_info": {
                "payer_client_ip": request.client_ip or self._fallback_ip,
                "h5_info": {"type": "Wap"},
            },
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        header = authorization(
            mchid=self._mchid,
            serial_no=self._serial_no,
            private_key=self._private_key,
            method="POST",
            path=H5_PATH,
            timestamp=int(now.timestamp()),
            nonce=self._nonce(),
            body=body,
        )
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout_s, transport=self._transport
            ) as client:
                response = await client.post(
                    H5_PATH,
                    content=body,
                    headers={
                        "Authorization": header,
                        "Accept": "application/json",
                        "Content-Type": "application/json",
                    },
                )
        except httpx.HTTPError as exc:
            log.warning("wechatpay.unreachable", error=type(exc).__name__)
            raise ServiceUnavailable() from exc
        if response.status_code >= 400:
            try:
                error = response.json() if response.content else {}
            except ValueError:
                error = {}
            log.warning(
                "wechatpay.refused",
                status=response.status_code,
                error=error.get("code") if isinstance(error, dict) else None,
            )
            raise ServiceUnavailable()
        problem = self._signature_problem(response.headers, response.content, now)
        if problem is not None:
            log.warning("wechatpay.untrusted_answer", problem=problem)
            raise ServiceUnavailable()
        try:
            h5_url = str(response.json()["h5_url"])
        except (ValueError, KeyError, TypeError):
            log.warning("wechatpay.bad_answer", status=response.status_code)
            raise ServiceUnavailable() from None
        back = quote(request.absolute(request.return_path), safe="")
        joiner = "&" if "?" in h5_url else "?"
        return CardPaymentCreated(
            provider_ref=trade_no, confirmation_url=f"{h5_url}{joiner}redirect_url={back}"
        )

    async def query_payment(self, session: Any, provider_ref: str) -> CardPaymentEvent | None:
        now = self._clock() if self._clock is not None else clock_of(session).now()
        path = (
            f"/v3/pay/transactions/out-trade-no/{quote(provider_ref, safe='')}?mchid={self._mchid}"
        )
        header = authorization(
            mchid=self._mchid,
            serial_no=self._serial_no,
            private_key=self._private_key,
            method="GET",
            path=path,
            timestamp=int(now.timestamp()),
            nonce=self._nonce(),
            body=b"",
        )
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout_s, transport=self._transport
            ) as client:
                response = await client.get(
                    path, headers={"Authorization": header, "Accept": "application/json"}
                )
        except httpx.HTTPError as exc:
            log.warning("wechatpay.unreachable", error=type(exc).__name__)
            raise ServiceUnavailable() from exc
        if response.status_code == 404:
            return None  # ORDER_NOT_EXIST: never paid
        if response.status_code >= 400:
            log.warning("wechatpay.query_refused", status=response.status_code)
            raise ServiceUnavailable()
        problem = self._signature_problem(response.headers, response.content, now)
        if problem is not None:
            log.warning("wechatpay.untrusted_answer", problem=problem)
            raise ServiceUnavailable()
        try:
            tx = response.json()
            state = str(tx["trade_state"])
            trade_no = str(tx["out_trade_no"])
            amount = tx["amount"]["total"]
            currency = str(tx["amount"].get("currency") or "CNY")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("wechatpay.bad_answer", status=response.status_code)
            raise ServiceUnavailable() from None
        if tx.get("mchid") != self._mchid or tx.get("appid") != self._appid:
            raise ServiceUnavailable()
        status = STATES.get(state)
        if status is None or type(amount) is not int or trade_no != provider_ref:
            return None
        return CardPaymentEvent(
            provider_ref=trade_no,
            reference=reference_of(trade_no),
            status=status,
            amount=amount,
            currency=currency,
        )

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> CardPaymentEvent | None:
        problem = self._signature_problem(headers, body, now)
        if problem is not None:
            log.warning("wechatpay.callback_refused", problem=problem)
            raise CallbackRejected()
        try:
            event = json.loads(body)
            kind = str(event["event_type"])
            resource = event["resource"]
        except (ValueError, KeyError, TypeError):
            raise CallbackRejected() from None
        if not kind.startswith("TRANSACTION."):
            return None  # e.g. REFUND.SUCCESS: genuine, not a payment outcome
        try:
            tx = json.loads(decrypt_resource(self._v3_key, resource))
            state = str(tx["trade_state"])
            trade_no = str(tx["out_trade_no"])
            amount = tx["amount"]["total"]
            currency = str(tx["amount"].get("currency") or "CNY")
            provider_mch, provider_app = tx.get("mchid"), tx.get("appid")
        except (InvalidTag, ValueError, KeyError, TypeError, AttributeError):
            log.warning("wechatpay.undecryptable", id=event.get("id"))
            raise CallbackRejected() from None
        if provider_mch != self._mchid or provider_app != self._appid:
            log.warning("wechatpay.foreign_merchant", mchid=provider_mch, appid=provider_app)
            raise CallbackRejected()
        if type(amount) is not int or not trade_no:
            raise CallbackRejected()
        if state not in STATES:
            log.info("wechatpay.ignored", trade_state=state)
            return None
        status = STATES[state]
        if status is None:
            return None
        return CardPaymentEvent(
            provider_ref=trade_no,
            reference=reference_of(trade_no),
            status=status,
            amount=amount,
            currency=currency,
        )
