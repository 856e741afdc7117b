"""The sandbox acquirer: behaves like a real card provider without moving real money.

- ``create_payment`` registers the payment and returns the URL of its hosted confirmation page
  (``/sandbox/pay/<id>``), where the user confirms or cancels, like a bank's 3-D Secure step.
- The outcome depends on the card number, as with real providers' test cards (docs/wallet.md):
  a number ending in 0002 is declined, one ending in 9995 fails for insufficient funds, any
  other valid number succeeds.
- After the user's decision it posts a callback to ``notify_url`` from a background job
  (asynchronous, retried until we answer 2xx), signed with HMAC-SHA256 over ``"<t>.<body>"``
  in the header ``Sandbox-Signature: t=<unix time>,v1=<hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

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


class SandboxAcquirer:
    name = "sandbox"

    def __init__(self, secret: bytes, public_url: str, tolerance_s: int = 300) -> None:
        self._secret = secret
        self._public_url = public_url.rstrip("/")
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
            return_url=request.return_url,
            notify_url=request.notify_url,
        )
        if existing is None:
            session.add(payment)
            await session.flush()
        return CardPaymentCreated(
            provider_ref=str(payment.id),
            confirmation_url=f"{self._public_url}/sandbox/pay/{payment.id}",
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
    payment.confirmed_at = datetime.now(UTC)
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


async def notify(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Post the signed callback; an error or a non-2xx answer makes the job retry later."""
    payment = await ctx.session.get(SandboxPayment, uuid.UUID(payload["payment_id"]))
    if payment is None:
        return
    secret = sandbox_secret(ctx.services["settings"])
    body = callback_body(payment)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body, int(time.time())),
    }
    client: httpx.AsyncClient | None = ctx.services.get("http")
    if client is not None:
        response = await client.post(payment.notify_url, content=body, headers=headers)
    else:
        async with httpx.AsyncClient(timeout=10.0) as own:
            response = await own.post(payment.notify_url, content=body, headers=headers)
    log.info("sandbox.callback", payment=str(payment.id), status=response.status_code)
    response.raise_for_status()
