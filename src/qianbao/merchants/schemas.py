"""What merchants read (API responses and webhook ``data``): one shape per object, so a
webhook carries exactly what ``GET`` returns. Amounts are decimal strings with a currency."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from qianbao.kernel.money import Money
from qianbao.merchants.models_payments import CheckoutSession, Payment, Refund, Settlement


class Amount(BaseModel):
    amount: str = Field(examples=["12.34"])
    currency: str = Field(examples=["CNY"])


def amount(minor: int, currency: str) -> Amount:
    return Amount(amount=Money(minor, currency).to_decimal_string(), currency=currency)


class CheckoutSessionOut(BaseModel):
    id: str
    object: Literal["checkout.session"] = "checkout.session"
    method: str = Field(description="checkout (online) or qr (a dynamic QR for one order)")
    status: Literal["open", "paid", "expired", "cancelled"]
    amount: Amount
    order_reference: str
    description: str | None
    url: str = Field(description="The hosted payment page (send the customer there)")
    success_url: str | None
    cancel_url: str | None
    payment_id: str | None
    expires_at: datetime
    created_at: datetime


class PaymentOut(BaseModel):
    id: str
    object: Literal["payment"] = "payment"
    method: Literal["checkout", "qr", "payment_code"]
    status: Literal["requires_confirmation", "succeeded", "cancelled", "expired"]
    amount: Amount = Field(description="The order's price")
    discount: Amount = Field(description="Paid by a promo code (the operator funds it)")
    paid_by_customer: Amount
    fee: Amount = Field(description="The merchant discount kept by the operator")
    net: Amount = Field(description="What the merchant receives: amount - fee")
    refunded: Amount
    order_reference: str | None
    description: str | None
    reference: str = Field(description="The number the customer sees on the receipt")
    checkout_session_id: str | None
    settlement_id: str | None
    created_at: datetime
    succeeded_at: datetime | None
    expires_at: datetime | None = Field(description="While it waits for the customer's PIN")


class RefundOut(BaseModel):
    id: str
    object: Literal["refund"] = "refund"
    payment_id: str
    status: Literal["succeeded", "failed"]
    amount: Amount
    fee_returned: Amount
    to_customer: Amount
    reason: str | None
    reference: str
    settlement_id: str | None
    created_at: datetime


class SettlementOut(BaseModel):
    id: str
    object: Literal["payout"] = "payout"
    status: Literal["created", "submitted", "paid", "failed", "returned"] = Field(
        description="created (the instruction is on its way), submitted, paid, failed, returned "
        "(sent back by the bank: the money is back on your balance, paid again later)"
    )
    business_date: str
    pay_on: str
    payments_count: int
    refunds_count: int
    gross: Amount
    refunds: Amount
    fees: Amount
    net: Amount
    failure: str | None
    created_at: datetime
    paid_at: datetime | None


def session_out(
    row: CheckoutSession, *, status: str | None = None, base: str = ""
) -> CheckoutSessionOut:
    cur = row.currency
    return CheckoutSessionOut(
        id=str(row.id),
        method=row.method,
        status=status or row.status,
        amount=amount(row.amount, cur),
        order_reference=row.order_reference,
        description=row.description,
        url=f"{base}/pay/checkout/{row.id}",
        success_url=row.success_url,
        cancel_url=row.cancel_url,
        payment_id=str(row.payment_id) if row.payment_id else None,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def payment_out(row: Payment) -> PaymentOut:
    cur = row.currency
    return PaymentOut(
        id=str(row.id),
        method=row.method,
        status=row.status,
        amount=amount(row.amount, cur),
        discount=amount(row.discount, cur),
        paid_by_customer=amount(row.amount - row.discount, cur),
        fee=amount(row.fee, cur),
        net=amount(row.amount - row.fee, cur),
        refunded=amount(row.refunded, cur),
        order_reference=row.order_reference,
        description=row.description,
        reference=row.reference,
        checkout_session_id=str(row.checkout_session_id) if row.checkout_session_id else None,
        settlement_id=str(row.settlement_id) if row.settlement_id else None,
        created_at=row.created_at,
        succeeded_at=row.succeeded_at,
        expires_at=row.expires_at if row.status == "requires_confirmation" else None,
    )


def refund_out(row: Refund) -> RefundOut:
    cur = row.currency
    return RefundOut(
        id=str(row.id),
        payment_id=str(row.payment_id),
        status=row.status,
        amount=amount(row.amount, cur),
        fee_returned=amount(row.fee_returned, cur),
        to_customer=amount(row.amount - row.discount_returned, cur),
        reason=row.reason,
        reference=row.reference,
        settlement_id=str(row.settlement_id) if row.settlement_id else None,
        created_at=row.created_at,
    )


def settlement_out(row: Settlement) -> SettlementOut:
    cur = row.currency
    return SettlementOut(
        id=str(row.id),
        status=row.status,
        business_date=row.business_date.isoformat(),
        pay_on=row.pay_on.isoformat(),
        payments_count=row.payments_count,
        refunds_count=row.refunds_count,
        gross=amount(row.gross, cur),
        refunds=amount(row.refunds, cur),
        fees=amount(row.fees, cur),
        net=amount(row.net, cur),
        failure=row.failure,
        created_at=row.created_at,
        paid_at=row.paid_at,
    )
