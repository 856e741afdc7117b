"""What a merchant's webhooks are told, in the transaction of the change itself (the webhook
deliveries are the outbox). The data of each event is exactly what the API returns for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qianbao import webhooks
from qianbao.kernel import outbox
from qianbao.merchants.models_payments import CheckoutSession, Payment, Refund, Settlement
from qianbao.merchants.schemas import payment_out, refund_out, session_out, settlement_out


async def _publish(session: Any, owner: Any, event_type: str, data: Any, at: datetime) -> None:
    await webhooks.publish(
        session,
        owner_id=owner,
        event_type=event_type,
        data=data.model_dump(mode="json"),
        occurred_at=at,
    )


async def payment_succeeded(
    session: Any, payment: Payment, checkout: CheckoutSession | None, at: datetime, *, site: str
) -> None:
    """``payment.succeeded`` and, for a session, ``checkout.session.completed``: one statement.
    ``site`` is the absolute base of the session's payment page (as the API gives it)."""
    items = [("payment.succeeded", payment_out(payment).model_dump(mode="json"))]
    if checkout is not None:
        data = session_out(checkout, base=site).model_dump(mode="json")
        items.append(("checkout.session.completed", data))
    await webhooks.publish_many(session, owner_id=payment.merchant_id, events=items, occurred_at=at)


async def session_expired(
    session: Any, checkout: CheckoutSession, at: datetime, *, site: str
) -> None:
    data = session_out(checkout, base=site)
    await _publish(session, checkout.merchant_id, "checkout.session.expired", data, at)


async def refund_finished(session: Any, refund: Refund, at: datetime) -> None:
    kind = "refund.succeeded" if refund.status == "succeeded" else "refund.failed"
    await _publish(session, refund.merchant_id, kind, refund_out(refund), at)


PAYOUT_TOPIC = "merchants.payout_finished"  # for the staff's notices (merchants.notices)


async def payout_finished(session: Any, settlement: Settlement, at: datetime) -> None:
    kind = "payout.paid" if settlement.status == "paid" else "payout.failed"
    await _publish(session, settlement.merchant_id, kind, settlement_out(settlement), at)
    await outbox.emit(session, PAYOUT_TOPIC, {"settlement_id": str(settlement.id)})
