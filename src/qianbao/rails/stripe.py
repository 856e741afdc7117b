"""A card acquirer on Stripe Checkout (https://docs.stripe.com/api/checkout/sessions and
https://docs.stripe.com/webhooks#verify-manually), written against Stripe's documented REST
protocol with httpx, no SDK.

- ``create_payment``: ``POST /v1/checkout/sessions`` (form-encoded, ``mode=payment``, one line
  item of the top-up amount in the currency's minor unit, ``client_reference_id`` = our top-up id,
  ``success_url``/``cancel_url`` = our status page, made absolute on ``request.site``: the
  configured public URL, else the origin the user's request came in on), with our reference as the
  ``Idempotency-Key``; the hosted confirmation step is the session's ``url``. Stripe collects the
  card on its own page (the wallet never sends it a card number).
- ``parse_callback``: the ``Stripe-Signature`` header is ``t=<unix time>,v1=<hex>[,v1=…]``; the
  signed payload is ``"<t>.<raw body>"``, HMAC-SHA256 with the endpoint's signing secret; events
  older than the tolerance are refused. ``checkout.session.completed`` with
  ``payment_status=paid`` and ``checkout.session.async_payment_succeeded`` mean paid;
  ``checkout.session.async_payment_failed`` declined; ``checkout.session.expired`` expired. Other
  events are acknowledged and ignored (``None``).
- ``query_payment`` (a stuck top-up re-queried from the console): ``GET
  /v1/checkout/sessions/{id}?expand[]=payment_intent`` (https://docs.stripe.com/api/checkout/sessions/retrieve;
  the session's PaymentIntent, https://docs.stripe.com/api/payment_intents/retrieve, comes
  expanded in the same answer). ``payment_status`` paid → succeeded; ``status`` expired →
  expired; a complete session whose PaymentIntent is ``canceled`` or back at
  ``requires_payment_method`` (an asynchronous method failed) → declined; else still open
  (``None``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from qianbao.kernel.errors import ServiceUnavailable
from qianbao.kernel.logging import get_logger
from qianbao.rails.acquiring import (
    CallbackRejected,
    CardPaymentCreated,
    CardPaymentEvent,
    CardPaymentRequest,
)

log = get_logger(__name__)
SIGNATURE_HEADER = "Stripe-Signature"


def signature_header(secret: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class StripeCheckoutAcquirer:
    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: bytes,
        base_url: str = "https://api.stripe.com",
        tolerance_s: int = 300,
        timeout_s: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        self._base_url = base_url.rstrip("/")
        self._tolerance_s = tolerance_s
        self._timeout_s = timeout_s
        self._transport = transport

    async def create_payment(self, session: Any, request: CardPaymentRequest) -> CardPaymentCreated:
        form = {
            "mode": "payment",
            "client_reference_id": request.reference,
            "success_url": request.absolute(request.return_path),
            "cancel_url": request.absolute(request.return_path),
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": request.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(request.amount),
            "line_items[0][price_data][product_data][name]": request.description,
            "metadata[reference]": request.reference,
            "payment_intent_data[metadata][reference]": request.reference,
        }
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout_s, transport=self._transport
            ) as client:
                response = await client.post(
                    "/v1/checkout/sessions",
                    data=form,
                    headers={
                        "Authorization": f"Bearer {self._secret_key}",
                        "Idempotency-Key": f"topup-{request.reference}",
                    },
                )
        except httpx.HTTPError as exc:
            log.warning("stripe.unreachable", error=type(exc).__name__)
            raise ServiceUnavailable() from exc
        if response.status_code >= 400:
            error = (response.json() if response.content else {}).get("error", {})
            log.warning(
                "stripe.refused",
                status=response.status_code,
                code=error.get("code"),
                type=error.get("type"),
            )
            raise ServiceUnavailable()
        body = response.json()
        return CardPaymentCreated(provider_ref=str(body["id"]), confirmation_url=str(body["url"]))

    async def query_payment(self, session: Any, provider_ref: str) -> CardPaymentEvent | None:
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout_s, transport=self._transport
            ) as client:
                response = await client.get(
                    f"/v1/checkout/sessions/{quote(provider_ref, safe='')}",
                    params={"expand[]": "payment_intent"},
                    headers={"Authorization": f"Bearer {self._secret_key}"},
                )
        except httpx.HTTPError as exc:
            log.warning("stripe.unreachable", error=type(exc).__name__)
            raise ServiceUnavailable() from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            log.warning("stripe.query_refused", status=response.status_code)
            raise ServiceUnavailable()
        try:
            obj = response.json()
            intent = obj.get("payment_intent")
            intent_status = intent.get("status") if isinstance(intent, dict) else None
            if obj.get("payment_status") in ("paid", "no_payment_required"):
                status = "succeeded"
            elif obj.get("status") == "expired":
                status = "expired"
            elif obj.get("status") == "complete" and intent_status in (
                "canceled",
                "requires_payment_method",
            ):
                status = "declined"
            else:
                return None
            return CardPaymentEvent(
                provider_ref=str(obj["id"]),
                reference=str(obj["client_reference_id"]),
                status=status,  # type: ignore[arg-type]
                amount=int(obj["amount_total"]),
                currency=str(obj["currency"]).upper(),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("stripe.bad_answer", status=response.status_code)
            raise ServiceUnavailable() from None

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> CardPaymentEvent | None:
        header = headers.get(SIGNATURE_HEADER.lower()) or headers.get(SIGNATURE_HEADER) or ""
        timestamp = None
        signatures = []
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key == "t" and value.isdigit():
                timestamp = int(value)
            elif key == "v1":
                signatures.append(value)
        if timestamp is None or not signatures:
            raise CallbackRejected()
        expected = signature_header(self._webhook_secret, body, timestamp).split("v1=", 1)[1]
        if not any(hmac.compare_digest(expected, s) for s in signatures):
            raise CallbackRejected()
        if abs(now.timestamp() - timestamp) > self._tolerance_s:
            raise CallbackRejected()
        try:
            event = json.loads(body)
            kind = event["type"]
            obj = event["data"]["object"]
        except (ValueError, KeyError, TypeError):
            raise CallbackRejected() from None
        if kind == "checkout.session.completed":
            if obj.get("payment_status") not in ("paid", "no_payment_required"):
                return None  # a delayed payment method: the async_* event follows
            status = "succeeded"
        elif kind == "checkout.session.async_payment_succeeded":
            status = "succeeded"
        elif kind == "checkout.session.async_payment_failed":
            status = "declined"
        elif kind == "checkout.session.expired":
            status = "expired"
        else:
            return None
        try:
            return CardPaymentEvent(
                provider_ref=str(obj["id"]),
                reference=str(obj["client_reference_id"]),
                status=status,  # type: ignore[arg-type]
                amount=int(obj["amount_total"]),
                currency=str(obj["currency"]).upper(),
            )
        except (KeyError, TypeError, ValueError):
            raise CallbackRejected() from None
