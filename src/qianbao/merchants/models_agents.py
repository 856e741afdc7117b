"""Cash agents (B5): merchants of a special kind — a shop where customers bring cash in or take
cash out — with an e-money float account in the ledger, a place (district, address, position)
and opening hours; and each cash operation an agent asks a customer to confirm."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

OPERATION_KINDS = ("cash_in", "cash_out")
OPERATION_STATUSES = ("pending", "completed", "declined", "cancelled", "expired")


class CashAgent(Base):
    __tablename__ = "cash_agents"

    merchant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("merchants.id"), primary_key=True
    )
    city_zh: Mapped[str] = mapped_column(String(40))
    city_en: Mapped[str] = mapped_column(String(40))
    district_zh: Mapped[str] = mapped_column(String(40))
    district_en: Mapped[str] = mapped_column(String(40))
    address_zh: Mapped[str] = mapped_column(String(200))
    address_en: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    # Monday first: [["09:00", "21:00"], …, null] (null: closed that day), China time.
    hours: Mapped[list[Any]] = mapped_column(JSONB)
    phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), server_default="active")
    bank_reference: Mapped[str] = mapped_column(String(16), unique=True)
    float_account_id: Mapped[int] = mapped_column(BigInteger)
    commission_in: Mapped[Decimal] = mapped_column(Numeric(6, 3))  # percent of a cash-in
    commission_out: Mapped[Decimal] = mapped_column(Numeric(6, 3))  # percent of a cash-out
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused')", name="status_known"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint(
            "commission_in >= 0 AND commission_in <= 5 AND commission_out >= 0 "
            "AND commission_out <= 5",
            name="commission_range",
        ),
    )


class CashOperation(Base):
    """A cash-in or cash-out an agent asked for and the customer confirms with the PIN."""

    __tablename__ = "cash_operations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    commission: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    id_checked: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        CheckConstraint(f"kind IN {OPERATION_KINDS!r}", name="kind_known"),
        CheckConstraint(f"status IN {OPERATION_STATUSES!r}", name="status_known"),
        CheckConstraint("amount > 0 AND commission >= 0", name="amounts_positive"),
        Index("uq_cash_operations_agent_key", "agent_id", "idempotency_key", unique=True),
        Index("ix_cash_operations_agent_created", "agent_id", "created_at"),
        Index(
            "ix_cash_operations_user_pending",
            "user_id",
            postgresql_where=text("status = 'pending'"),
        ),
    )
