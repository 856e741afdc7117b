"""What merchants are paid and give back: checkout sessions (also behind a dynamic QR),
payments (checkout, qr, payment_code), refunds, customers' one-time payment codes, promo codes
and daily settlements."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

METHODS = ("checkout", "qr", "payment_code")
SESSION_STATUSES = ("open", "paid", "expired", "cancelled")
PAYMENT_STATUSES = ("requires_confirmation", "succeeded", "cancelled", "expired")


class CheckoutSession(Base):
    """What a shop asks to be paid (B9), or a dynamic QR for one order (B8, ``method='qr'``)."""

    __tablename__ = "merchant_checkout_sessions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    merchant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    method: Mapped[str] = mapped_column(String(16), server_default="checkout")
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    order_reference: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(200))
    success_url: Mapped[str | None] = mapped_column(Text)
    cancel_url: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {SESSION_STATUSES!r}", name="status_known"),
        CheckConstraint(f"method IN {METHODS!r}", name="method_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("uq_checkout_sessions_key", "merchant_id", "idempotency_key", unique=True),
        Index("ix_checkout_sessions_merchant_created", "merchant_id", "created_at"),
        Index(
            "ix_checkout_sessions_open_expiry",
            "expires_at",
            postgresql_where=text("status = 'open'"),
        ),
    )


class Payment(Base):
    """A customer paid a merchant. ``amount`` is the order's price; the customer paid
    ``amount - discount`` (a promo code funds the discount); the merchant keeps ``amount - fee``."""

    __tablename__ = "merchant_payments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    merchant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    fee: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refunded: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refunded_fee: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refunded_discount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    charged_back: Mapped[int] = mapped_column(BigInteger, server_default="0")  # upheld claims
    order_reference: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # read out to support
    checkout_session_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    promo_code_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # customer's row
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # awaiting PIN

    __table_args__ = (
        CheckConstraint(f"status IN {PAYMENT_STATUSES!r}", name="status_known"),
        CheckConstraint(f"method IN {METHODS!r}", name="method_known"),
        CheckConstraint(
            "amount > 0 AND discount >= 0 AND discount < amount AND fee >= 0 AND fee <= amount",
            name="amounts_sane",
        ),
        CheckConstraint(
            "refunded >= 0 AND charged_back >= 0 AND refunded + charged_back <= amount "
            "AND refunded_fee <= fee AND refunded_discount <= discount",
            name="refunds_within_payment",
        ),
        # An order reference is paid at most once (and waits for at most one PIN).
        Index(
            "uq_merchant_payments_order",
            "merchant_id",
            "order_reference",
            unique=True,
            postgresql_where=text(
                "order_reference IS NOT NULL AND status IN ('succeeded', 'requires_confirmation')"
            ),
        ),
        Index(
            "uq_merchant_payments_key",
            "merchant_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_merchant_payments_merchant_created", "merchant_id", "created_at"),
        Index("ix_merchant_payments_customer_created", "customer_id", "created_at"),
        Index(
            "ix_merchant_payments_unsettled",
            "merchant_id",
            "succeeded_at",
            postgresql_where=text("status = 'succeeded' AND settlement_id IS NULL"),
        ),
    )


class Refund(Base):
    """Money given back on a payment, from the merchant's balance: ``amount`` of the order's
    price; the customer gets ``amount - discount_returned`` and the promo budget the rest; the
    merchant pays ``amount - fee_returned``."""

    __tablename__ = "merchant_refunds"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee_returned: Mapped[int] = mapped_column(BigInteger, server_default="0")
    discount_returned: Mapped[int] = mapped_column(BigInteger, server_default="0")
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default="succeeded")
    failure: Mapped[str | None] = mapped_column(String(64))  # the error code of a failed one
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # dashboard user
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "amount > 0 AND fee_returned >= 0 AND discount_returned >= 0", name="amounts_positive"
        ),
        Index("uq_merchant_refunds_key", "merchant_id", "idempotency_key", unique=True),
        Index(
            "ix_merchant_refunds_unsettled",
            "merchant_id",
            "created_at",
            postgresql_where=text("settlement_id IS NULL"),
        ),
    )


class PaymentCode(Base):
    """A customer's one-time payment code (B8, customer-presented): stored as a keyed hash,
    valid for a minute, used once."""

    __tablename__ = "payment_codes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    status: Mapped[str] = mapped_column(String(12), server_default="active")  # active|used|replaced
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("status IN ('active', 'used', 'replaced')", name="status_known"),
        Index("ix_payment_codes_user_created", "user_id", "created_at"),
    )


class PaymentCodeSettings(Base):
    """A customer's own limit for till payments without the PIN (0: always ask)."""

    __tablename__ = "payment_code_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    no_pin_limit: Mapped[int] = mapped_column(BigInteger)  # CNY minor units
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PromoCode(Base):
    """A discount code (B11), funded from the operator's marketing account."""

    __tablename__ = "promo_codes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # upper case
    kind: Mapped[str] = mapped_column(String(8))  # fixed | percent
    value: Mapped[int] = mapped_column(BigInteger)  # minor units, or basis points (1000 = 10 %)
    currency: Mapped[str] = mapped_column(String(8))
    min_spend: Mapped[int] = mapped_column(BigInteger, server_default="0")
    max_discount: Mapped[int | None] = mapped_column(BigInteger)
    once_per_user: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    budget: Mapped[int] = mapped_column(BigInteger)
    spent: Mapped[int] = mapped_column(BigInteger, server_default="0")
    merchant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(8), server_default="active")  # active | disabled
    description: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('fixed', 'percent')", name="kind_known"),
        CheckConstraint("status IN ('active', 'disabled')", name="status_known"),
        CheckConstraint("value > 0 AND budget > 0 AND min_spend >= 0", name="amounts_positive"),
        CheckConstraint("spent >= 0 AND spent <= budget", name="within_budget"),
        CheckConstraint("kind <> 'percent' OR value <= 10000", name="percent_at_most_all"),
    )


class PromoRedemption(Base):
    __tablename__ = "promo_redemptions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    promo_code_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    discount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_promo_redemptions_code_user", "promo_code_id", "user_id"),)


class Settlement(Base):
    """One payout of a merchant's settled balance (T+N business days), with the payments and
    refunds it pays for (their ``settlement_id``)."""

    __tablename__ = "merchant_settlements"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    merchant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(8))
    business_date: Mapped[date] = mapped_column(Date)  # the last day whose payments it covers
    pay_on: Mapped[date] = mapped_column(Date)
    payments_count: Mapped[int] = mapped_column(Integer)
    refunds_count: Mapped[int] = mapped_column(Integer)
    gross: Mapped[int] = mapped_column(BigInteger)  # sum of payment amounts
    refunds: Mapped[int] = mapped_column(BigInteger)  # sum of refund amounts
    fees: Mapped[int] = mapped_column(BigInteger)  # fees kept (net of fees returned)
    net: Mapped[int] = mapped_column(BigInteger)  # paid out
    status: Mapped[str] = mapped_column(String(12))  # created|submitted|paid|failed|returned
    failure: Mapped[str | None] = mapped_column(String(200))
    hold_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "status IN ('created', 'submitted', 'paid', 'failed', 'returned')", name="status_known"
        ),
        CheckConstraint("net > 0", name="net_positive"),
        Index(
            "uq_merchant_settlements_day",
            "merchant_id",
            "currency",
            "business_date",
            unique=True,
            postgresql_where=text("status IN ('created', 'submitted', 'paid')"),
        ),
    )


class TillGuess(Base):
    """Unknown or expired payment codes a merchant's till presented (rate limit, audit)."""

    __tablename__ = "merchant_till_misses"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    code_tail: Mapped[str] = mapped_column(Text)  # last 4 digits only

    __table_args__ = (Index("ix_merchant_till_misses_merchant_at", "merchant_id", "at"),)
