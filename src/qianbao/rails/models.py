"""Tables of the development backends. They stand in for the provider's own records: the sandbox
acquirer's payments and the development payout bank's instructions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, Text, func
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


PAYOUT_STATES = (
    "queued",
    "batched",
    "released",
    "accepted",
    "settled",
    "rejected",
    "returned",
    "cancelled",  # finished another way before it went into a file: never sent
)


class BankPayout(Base):
    """A payout instruction waiting for, or sent in, an ISO 20022 pain.001 file to the
    operator's bank (``payout_backend = "bank_file"``). ``end_to_end_id`` travels with the
    payment through the banks and comes back in the status report (pain.002) and the statement
    (camt.053 / MT940), which settle or return it. The account number is sealed."""

    __tablename__ = "bank_payouts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # ours: the withdrawal
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    account_kind: Mapped[str] = mapped_column(String(8))
    account_sealed: Mapped[str] = mapped_column(Text)
    account_last4: Mapped[str] = mapped_column(String(4))
    holder_name: Mapped[str] = mapped_column(String(140))
    bank_name: Mapped[str] = mapped_column(String(140))
    status: Mapped[str] = mapped_column(String(12), server_default="queued")
    reason: Mapped[str | None] = mapped_column(Text)  # an N_ msgid (rejected, returned)
    reason_code: Mapped[str | None] = mapped_column(String(8))  # the bank's ISO reason code
    batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {PAYOUT_STATES!r}", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_bank_payouts_status", "status", "currency", "created_at"),
    )
