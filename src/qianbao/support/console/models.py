"""Console tables: the audit log (append-only: a trigger refuses UPDATE, DELETE and TRUNCATE),
escalations to a supervisor, and CSAT ratings of a resolved ticket or a closed chat."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

ESCALATION_STATUSES = ("open", "taken")


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class AuditEntry(Base):
    """One staff read of customer data or one staff action. Never changed, never deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    actor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(40))
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    object_kind: Mapped[str | None] = mapped_column(String(24))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = _now()

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor_id", "at"),
        Index("ix_audit_log_subject_at", "subject_user_id", "at"),
    )


class Escalation(Base):
    """An agent asks a supervisor to take over a ticket or a customer."""

    __tablename__ = "support_escalations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    reason: Mapped[str] = mapped_column(Text)
    from_agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(8), server_default="open")
    taken_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint(f"status IN {ESCALATION_STATUSES!r}", name="status_known"),
        CheckConstraint("ticket_id IS NOT NULL OR user_id IS NOT NULL", name="has_subject"),
        Index("ix_support_escalations_status_created", "status", "created_at"),
    )


class Rating(Base):
    """CSAT: one score (1-5) per resolved ticket or closed chat and customer."""

    __tablename__ = "support_ratings"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        CheckConstraint("(ticket_id IS NULL) <> (conversation_id IS NULL)", name="one_item"),
        Index(
            "uq_support_ratings_ticket_user",
            "ticket_id",
            "user_id",
            unique=True,
            postgresql_where=text("ticket_id IS NOT NULL"),
        ),
        Index(
            "uq_support_ratings_conversation_user",
            "conversation_id",
            "user_id",
            unique=True,
            postgresql_where=text("conversation_id IS NOT NULL"),
        ),
        Index("ix_support_ratings_created", "created_at"),
    )
