"""The Stripe Checkout acquirer against Stripe's documented protocol: the request it sends (seen
through an httpx mock transport standing in for api.stripe.com) and webhook signatures."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest

from qianbao.kernel.errors import ServiceUnavailable
from qianbao.rails import CallbackRejected, CardPaymentRequest
from qianbao.rails.stripe import StripeCheckoutAcquirer, signature_header

WHSEC = b"whsec_test_0123456789"
REQUEST = CardPaymentRequest(
    reference="0193c0de-0000-7000-8000-000000000001",
    amount=12_345,
    currency="CNY",
    card_number="6222020000000004242",
    holder_name="王小明",
    description="Qianbao top-up 202611220000000001",
    return_path="/wallet/topup/0193c0de",
    notify_path="/api/v1/payments/stripe/notify",
    site="https://wallet.example.com",
)
# Webhooks are checked against a fixed moment: nothing here depends on the time of day.
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)


def _acquirer(handler) -> StripeCheckoutAcquirer:
    return StripeCheckoutAcquirer(
        secret_key="sk_test_abc", webhook_secret=WHSEC, transport=httpx.MockTransport(handler)
    )


def test_create_payment_posts_a_checkout_session():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"id": "cs_test_1", "url": "https://checkout.stripe.com/c/pay/cs_test_1"}
        )

    created = asyncio.run(_acquirer(handler).create_payment(None, REQUEST))
    assert created.provider_ref == "cs_test_1"
    assert created.confirmation_url.startswith("https://checkout.stripe.com/")
    (request,) = seen
    assert request.url == "https://api.stripe.com/v1/checkout/sessions"
    assert request.headers["authorization"] == "Bearer sk_test_abc"
    assert request.headers["idempotency-key"] == f"topup-{REQUEST.reference}"
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form["mode"] == "payment"
    assert form["client_reference_id"] == REQUEST.reference
    assert form["line_items[0][price_data][unit_amount]"] == "12345"
    assert form["line_items[0][price_data][currency]"] == "cny"
    assert REQUEST.card_number not in request.content.decode()  # Stripe collects the card
    # Stripe needs absolute addresses to send the browser back: our path on ``site``.
    assert form["success_url"] == "https://wallet.example.com/wallet/topup/0193c0de"
    assert form["cancel_url"] == "https://wallet.example.com/wallet/topup/0193c0de"


def test_return_urls_follow_the_site_the_request_came_in_on():
    """Without a public URL the route passes the request's own origin as ``site``: a deployment
    on another port sends the browser back there, not to a default address."""
    forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        return httpx.Response(200, json={"id": "cs_test_2", "url": "https://checkout.stripe.com/x"})

    on_port = dataclasses.replace(REQUEST, site="http://localhost:8301/")
    asyncio.run(_acquirer(handler).create_payment(None, on_port))
    assert forms[0]["success_url"] == "http://localhost:8301/wallet/topup/0193c0de"
    assert forms[0]["cancel_url"] == "http://localhost:8301/wallet/topup/0193c0de"


def test_create_payment_refused_or_unreachable_is_unavailable():
    def refused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, json={"error": {"type": "card_error", "code": "x"}})

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down")

    for handler in (refused, down):
        with pytest.raises(ServiceUnavailable):
            asyncio.run(_acquirer(handler).create_payment(None, REQUEST))


def _event(kind: str, **obj: object) -> bytes:
    base = {
        "id": "cs_test_1",
        "client_reference_id": REQUEST.reference,
        "amount_total": 12_345,
        "currency": "cny",
        "payment_status": "paid",
    }
    return json.dumps({"id": "evt_1", "type": kind, "data": {"object": {**base, **obj}}}).encode()


def test_webhook_signatures_and_events():
    acq = _acquirer(lambda r: httpx.Response(500))
    now = NOW
    t = int(NOW.timestamp())

    def parse(body: bytes, header: str):
        return acq.parse_callback({"stripe-signature": header}, body, now)

    body = _event("checkout.session.completed")
    event = parse(body, signature_header(WHSEC, body, t))
    assert event is not None
    assert (event.status, event.amount, event.currency) == ("succeeded", 12_345, "CNY")
    assert event.reference == REQUEST.reference and event.provider_ref == "cs_test_1"
    # Several v1 signatures (a secret being rolled): one valid is enough.
    other = signature_header(b"whsec_old", body, t).split(",")[1]
    assert parse(body, signature_header(WHSEC, body, t) + "," + other) is not None
    failed = _event("checkout.session.async_payment_failed", payment_status="unpaid")
    assert parse(failed, signature_header(WHSEC, failed, t)).status == "declined"
    expired = _event("checkout.session.expired", payment_status="unpaid")
    assert parse(expired, signature_header(WHSEC, expired, t)).status == "expired"
    delayed = _event("checkout.session.completed", payment_status="unpaid")
    assert parse(delayed, signature_header(WHSEC, delayed, t)) is None
    unrelated = _event("customer.created")
    assert parse(unrelated, signature_header(WHSEC, unrelated, t)) is None

    for header in (
        signature_header(b"whsec_wrong", body, t),
        signature_header(WHSEC, body, t - 3600),
        signature_header(WHSEC, body + b" ", t),
        "v1=abc",
        "",
    ):
        with pytest.raises(CallbackRejected):
            parse(body, header)
