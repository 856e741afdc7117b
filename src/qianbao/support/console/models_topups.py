"""Manual credits of a stuck top-up (four eyes): an agent proposes crediting the top-up's own
amount with a reason and the evidence seen (the customer's bank statement, the provider's
receipt); another staff member — a supervisor or admin — approves or rejects it. At most one
proposal per top-up is pending, and at most one is ever approved (partial unique indexes)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

CREDIT_STATUSES = ("pending", "approved", "rejected")


class TopupCredit(Base):
    __tablename__ = "support_topup_credits"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    topup_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    reference: Mapped[str] = mapped_column(String(32))  # the top-up's transaction reference
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    proposed_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(24))  # the top-up's status after approval

    __table_args__ = (
        CheckConstraint(f"status IN {CREDIT_STATUSES!r}", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_support_topup_credits_status", "status", "proposed_at"),
        Index("ix_support_topup_credits_user", "user_id", "proposed_at"),
        Index(
            "uq_support_topup_credits_pending",
            "topup_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "uq_support_topup_credits_approved",
            "topup_id",
            unique=True,
            postgresql_where=text("status = 'approved'"),
        ),
    )
