"""Tables of the development backends. They stand in for the provider's own records: the sandbox
acquirer's payments and the development payout bank's instructions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7


class SandboxPayment(Base):
    __tablename__ = "sandbox_card_payments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    card_last4: Mapped[str] = mapped_column(String(4))
    planned_outcome: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(24), server_default="requires_confirmation")
    description: Mapped[str] = mapped_column(String(200))
    return_url: Mapped[str] = mapped_column(Text)
    notify_url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "status IN ('requires_confirmation', 'succeeded', 'declined', 'insufficient_funds', "
            "'cancelled', 'expired')",
            name="status_known",
        ),
    )


class DevPayout(Base):
    __tablename__ = "dev_payouts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    account_last4: Mapped[str] = mapped_column(String(4))
    planned_outcome: Mapped[str] = mapped_column(String(16))  # settled | failed | returned
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
