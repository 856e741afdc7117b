"""A case (a claim about one transaction) and its timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

CASE_KINDS = ("unauthorized", "mistaken")
CASE_STATUSES = (
    "asked",  # a mistaken transfer: the recipient is asked to send it back (a week)
    "returned",  # the recipient sent it back
    "open",  # submitted (or a mistaken transfer not returned); an agent investigates
    "recommended",  # the agent recommended refunding or rejecting; a supervisor decides
    "refunded",  # approved: the money came back (from where: the recovered_* columns)
    "rejected",  # rejected with a reason the customer sees; may be appealed once
    "withdrawn",  # the customer took it back
)
SHARED = ("nothing", "sms_code", "pin", "password", "unsure")


class Case(Base):
    __tablename__ = "dispute_cases"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), server_default="open")
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # who claims
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # their wallet row
    counterparty_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    merchant_payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    merchant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    merchant_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merchant_answer: Mapped[str | None] = mapped_column(Text)
    merchant_answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)  # the transaction's
    claimed: Mapped[int] = mapped_column(BigInteger)  # what the customer asks back
    what_happened: Mapped[str] = mapped_column(Text)
    noticed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shared: Mapped[str] = mapped_column(String(12))
    froze_account: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # transaction | help | chat | agent | held_no
    source: Mapped[str] = mapped_column(String(16))
    ticket_reference: Mapped[str | None] = mapped_column(String(32))
    hold_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    held: Mapped[int] = mapped_column(BigInteger, server_default="0")  # the recipient's, at once
    recommendation: Mapped[str | None] = mapped_column(String(8))  # refund | reject
    recommended_amount: Mapped[int | None] = mapped_column(BigInteger)
    recommended_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recommendation_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)  # shown to the customer
    recovered_held: Mapped[int] = mapped_column(BigInteger, server_default="0")
    recovered_merchant: Mapped[int] = mapped_column(BigInteger, server_default="0")
    written_off: Mapped[int] = mapped_column(BigInteger, server_default="0")
    appealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    appeal_note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the stage's SLA
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def returned(self) -> int:
        """What came back to the customer: from the recipient's held money, the merchant and the
        operator's loss account."""
        return self.recovered_held + self.recovered_merchant + self.written_off

    @property
    def money_moved(self) -> bool:
        """Whether the transaction took the customer's money. A case opened by answering "No" to
        "Was this you?" is about a payment that was held and cancelled: there is nothing to give
        back, only the account to look into (it is closed without a refund)."""
        return self.source != "held_no"

    __table_args__ = (
        CheckConstraint(f"kind IN {CASE_KINDS!r}", name="kind_known"),
        CheckConstraint(f"status IN {CASE_STATUSES!r}", name="status_known"),
        CheckConstraint(f"shared IN {SHARED!r}", name="shared_known"),
        CheckConstraint("claimed > 0 AND claimed <= amount", name="claim_within_amount"),
        CheckConstraint(
            "recommendation IS NULL OR recommendation IN ('refund', 'reject')",
            name="recommendation_known",
        ),
        # One case per transaction (an appeal reopens the same case).
        Index("uq_dispute_cases_transaction", "transaction_id", unique=True),
        Index("ix_dispute_cases_user", "user_id", "created_at"),
        Index("ix_dispute_cases_status_due", "status", "due_at"),
        Index("ix_dispute_cases_counterparty", "counterparty_user_id"),
        Index("ix_dispute_cases_merchant", "merchant_id", "created_at"),
    )


class CaseEvent(Base):
    """One step of a case: what happened, who did it, and whether the customer sees it."""

    __tablename__ = "dispute_case_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    note: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    public: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseFile(Base):
    """A screenshot (or PDF) the customer gave with a claim: its type checked from the content,
    seen by the agents on the case and copied to the case's ticket."""

    __tablename__ = "dispute_case_files"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dispute_cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
