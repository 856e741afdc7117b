"""The sandbox acquirer: behaves like a real card provider without moving real money.

- ``create_payment`` registers the payment and returns the address of its hosted confirmation
  page, ``/sandbox/pay/<id>`` — a path: the sandbox bank lives inside this deployment, so the
  browser stays on the origin it is on — where the user confirms or cancels, like a bank's
  3-D Secure step.
- The outcome depends on the card number, as with real providers' test cards (docs/wallet.md):
  a number ending in 0002 is declined, one ending in 9995 fails for insufficient funds, any
  other valid number succeeds.
- ``query_payment`` answers from the stored payment (the console's re-query of a stuck top-up).
- After the user's decision it posts a callback from a background job (asynchronous, retried
  until we answer 2xx), signed with HMAC-SHA256 over ``"<t>.<body>"`` in the header
  ``Sandbox-Signature: t=<unix time>,v1=<hex>``. The payment keeps the callback's *path*; the
  job joins it to the service's base URL as configured when it runs (``settings.http.base_url``),
  so a changed port or public URL, or a restart, never leaves a callback knocking at an old
  address. Rows written before this kept absolute URLs: only their path is used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.kernel.logging import get_logger
from qianbao.rails.acquiring import (
    CallbackRejected,
    CardPaymentCreated,
    CardPaymentEvent,
    CardPaymentRequest,
    Outcome,
)
from qianbao.rails.models import SandboxPayment
from qianbao.worker import JobContext, enqueue

log = get_logger(__name__)

SIGNATURE_HEADER = "Sandbox-Signature"
NOTIFY_TASK = "rails.sandbox_notify"
TEST_CARDS = {
    "6222020000000004242": "succeeded",
    "6225880000000000002": "declined",
    "6217000000000029995": "insufficient_funds",
}
FINAL = ("succeeded", "declined", "insufficient_funds", "cancelled", "expired")


class SandboxPaymentNotFound(DomainError):
    code = "sandbox.payment_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("This sandbox payment does not exist.")


class SandboxPaymentDone(DomainError):
    code = "sandbox.payment_done"
    kind = ErrorKind.CONFLICT
    message = N_("This payment was already confirmed or cancelled.")


def planned_outcome(card_number: str) -> Outcome:
    if card_number.endswith("0002"):
        return "declined"
    if card_number.endswith("9995"):
        return "insufficient_funds"
    return "succeeded"


def sandbox_secret(settings: Any) -> bytes:
    return settings.payments.sandbox_secret_bytes(
        settings.var_dir, settings.environment == "production"
    )


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def local_path(url: str) -> str:
    """The path (and query) of one of our own addresses: a path stays as it is, an absolute URL
    (rows written when absolute URLs were stored) loses its scheme and host."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{path}?{parts.query}" if parts.query else path


def pay_page(payment_id: Any) -> str:
    return f"/sandbox/pay/{payment_id}"


class SandboxAcquirer:
    name = "sandbox"

    def __init__(self, secret: bytes, tolerance_s: int = 300) -> None:
        self._secret = secret
        self._tolerance_s = tolerance_s

    async def create_payment(self, session: Any, request: CardPaymentRequest) -> CardPaymentCreated:
        existing = (
            await session.execute(
                select(SandboxPayment).where(SandboxPayment.reference == request.reference)
            )
        ).scalar_one_or_none()
        payment = existing or SandboxPayment(
            id=uuid.uuid4(),
            reference=request.reference,
            amount=request.amount,
            currency=request.currency,
            card_last4=request.card_number[-4:],
            planned_outcome=planned_outcome(request.card_number),
            description=request.description[:200],
            return_url=local_path(request.return_path),  # paths, resolved when used
            notify_url=local_path(request.notify_path),
        )
        if existing is None:
            session.add(payment)
            await session.flush()
        return CardPaymentCreated(
            provider_ref=str(payment.id), confirmation_url=pay_page(payment.id)
        )

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> CardPaymentEvent:
        header = headers.get(SIGNATURE_HEADER.lower()) or headers.get(SIGNATURE_HEADER) or ""
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise CallbackRejected() from None
        expected = sign(self._secret, body, timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise CallbackRejected()
        if abs(now.timestamp() - timestamp) > self._tolerance_s:
            raise CallbackRejected()
        try:
            data = json.loads(body)
            return CardPaymentEvent(
                provider_ref=str(data["id"]),
                reference=str(data["reference"]),
                status=data["status"],
                amount=int(data["amount"]),
                currency=str(data["currency"]),
            )
        except (ValueError, KeyError, TypeError):
            raise CallbackRejected() from None

    async def query_payment(self, session: Any, provider_ref: str) -> CardPaymentEvent | None:
        """The sandbox bank knows its payments: the stored outcome, as the callback states it
        (``None`` while the user has not confirmed or cancelled, or for an unknown id)."""
        try:
            ident = uuid.UUID(provider_ref)
        except ValueError:
            return None
        payment = await session.get(SandboxPayment, ident)
        if payment is None or payment.status not in FINAL:
            return None
        return CardPaymentEvent(
            provider_ref=str(payment.id),
            reference=payment.reference,
            status=payment.status,
            amount=payment.amount,
            currency=payment.currency,
        )


async def get_payment(session: Any, payment_id: str) -> SandboxPayment:
    try:
        ident = uuid.UUID(payment_id)
    except ValueError:
        raise SandboxPaymentNotFound() from None
    payment = await session.get(SandboxPayment, ident, with_for_update=True)
    if payment is None:
        raise SandboxPaymentNotFound()
    return payment


async def decide(session: Any, payment_id: str, *, confirm: bool) -> SandboxPayment:
    """The user's answer on the hosted page. Confirming applies the card's planned outcome."""
    payment = await get_payment(session, payment_id)
    if payment.status in FINAL:
        raise SandboxPaymentDone()
    payment.status = payment.planned_outcome if confirm else "cancelled"
    payment.confirmed_at = clock_of(session).now()
    await session.flush()
    await enqueue(
        session, NOTIFY_TASK, {"payment_id": str(payment.id)}, dedup_key=f"sandbox:{payment.id}"
    )
    return payment


def callback_body(payment: SandboxPayment) -> bytes:
    return json.dumps(
        {
            "id": str(payment.id),
            "reference": payment.reference,
            "status": payment.status,
            "amount": payment.amount,
            "currency": payment.currency,
        },
        separators=(",", ":"),
    ).encode()


def notify_target(settings: Any, stored: str) -> str:
    """Where the callback goes now: the stored path on the service's current base URL."""
    return f"{settings.http.base_url}{local_path(stored)}"


async def notify(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Post the signed callback; an error or a non-2xx answer makes the job retry later."""
    payment = await ctx.session.get(SandboxPayment, uuid.UUID(payload["payment_id"]))
    if payment is None:
        return
    settings = ctx.services["settings"]
    secret = sandbox_secret(settings)
    url = notify_target(settings, payment.notify_url)
    body = callback_body(payment)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body, ctx.clock.timestamp()),
    }
    client: httpx.AsyncClient | None = ctx.services.get("http")
    if client is not None:
        response = await client.post(url, content=body, headers=headers)
    else:
        async with httpx.AsyncClient(timeout=10.0) as own:
            response = await own.post(url, content=body, headers=headers)
    log.info("sandbox.callback", payment=str(payment.id), to=url, status=response.status_code)
    response.raise_for_status()
