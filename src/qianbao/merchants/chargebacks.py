"""Chargebacks (D4): when a supervisor upholds a customer's claim on a payment, the money comes
back from the merchant — as much of it as the merchant's balance holds (it never goes negative);
the disputes domain takes the rest from the operator's loss account. The merchant keeps the fee
it paid (a chargeback is not a refund), the payment can no longer be refunded for that part, and
the merchant is told by webhook (``dispute.*``) and on its dashboard."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from qianbao import webhooks
from qianbao.kernel.clock import clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger, Leg, PostEntry
from qianbao.merchants.accounts import balance_of, debit_legs, money_lock
from qianbao.merchants.errors import PaymentNotFound
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import Payment
from qianbao.merchants.refunds import money_back_details
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.transfer import new_reference


@dataclass(frozen=True)
class PaymentFacts:
    payment_id: uuid.UUID
    merchant_id: uuid.UUID
    customer_id: uuid.UUID
    currency: str
    amount: int
    claimable: int  # what is neither refunded nor charged back yet


async def facts(session: Any, payment_id: uuid.UUID) -> PaymentFacts:
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise PaymentNotFound()
    return PaymentFacts(
        payment.id,
        payment.merchant_id,
        payment.customer_id,
        payment.currency,
        payment.amount,
        payment.amount - payment.refunded - payment.charged_back,
    )


async def dispute_event(
    session: Any,
    merchant_id: uuid.UUID,
    event_type: str,
    *,
    case_reference: str,
    payment_id: uuid.UUID,
    amount: int,
    currency: str,
    status: str,
    respond_by: datetime | None,
    at: datetime,
    charged_back: int = 0,
) -> None:
    """``dispute.opened`` / ``dispute.closed`` to the merchant's webhooks."""
    await webhooks.publish(
        session,
        owner_id=merchant_id,
        event_type=event_type,
        data={
            "id": case_reference,
            "object": "dispute",
            "payment_id": str(payment_id),
            "amount": {"amount": Money(amount, currency).to_decimal_string(), "currency": currency},
            "charged_back": {
                "amount": Money(charged_back, currency).to_decimal_string(),
                "currency": currency,
            },
            "status": status,
            "respond_by": respond_by.isoformat() if respond_by else None,
        },
        occurred_at=at,
    )


async def charge_back(
    session: Any, payment_id: uuid.UUID, *, amount: int, key: str, case_reference: str
) -> tuple[int, uuid.UUID | None]:
    """Take up to ``amount`` from the merchant back to the customer; returns (taken, the
    customer's history row or None when the merchant had nothing)."""
    payment = (
        await session.execute(
            select(Payment)
            .where(Payment.id == payment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if payment is None:
        raise PaymentNotFound()
    merchant = await session.get(Merchant, payment.merchant_id)
    assert merchant is not None
    cur = payment.currency
    await money_lock(session, merchant.id)
    available = (await balance_of(session, merchant.id, cur)).available
    left = payment.amount - payment.refunded - payment.charged_back
    take = max(0, min(amount, left, available))
    if not take:
        return 0, None
    ledger = await Ledger.of_session(session)
    customer = await wallet_account(session, payment.customer_id, cur)
    legs = await debit_legs(session, merchant.id, cur, take)
    entry = await ledger.post(
        PostEntry(
            key=f"{key}:chargeback",
            legs=(*legs, Leg(customer.id, take, cur)),
            entry_type="merchant_chargeback",
            metadata={"case": case_reference, "payment_id": str(payment.id)},
        )
    )
    payment.charged_back += take
    now = clock_of(session).now()
    row_id = uuid7()
    session.add(
        WalletTransaction(
            id=row_id,
            user_id=payment.customer_id,
            account_id=customer.id,
            kind="refund",
            direction="in",
            currency=cur,
            amount=take,
            balance_after=next(
                p.balance_after for p in entry.postings if p.account_id == customer.id
            ),
            counterparty_name=merchant.name_zh,
            reference=new_reference(now),
            entry_id=entry.entry_id,
            details=money_back_details(merchant, payment, case=case_reference),
            created_at=now,
            listed_at=now,
        )
    )
    await session.flush()
    return take, row_id
