"""Ticket tables: tickets, their messages (public or internal notes), attachments (bytea),
canned replies and the audit trail of every staff read and action."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.hant import zh_text
from qianbao.kernel.ids import uuid7

STATUSES = ("new", "open", "waiting", "resolved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
AUTHOR_KINDS = ("customer", "agent", "system")


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # T20261123-482913
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    requester_email: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    intake: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), server_default="new")
    priority: Mapped[str] = mapped_column(String(8), server_default="normal")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    # web | email | api | chat | callback
    channel: Mapped[str] = mapped_column(String(8), server_default="web")
    first_response_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolution_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_hours: Mapped[float] = mapped_column(Float, server_default="0")  # business hours
    merged_into: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint(f"priority IN {PRIORITIES!r}", name="priority_known"),
        CheckConstraint("user_id IS NOT NULL OR requester_email IS NOT NULL", name="has_requester"),
        Index("ix_tickets_status_updated", "status", "updated_at"),
        Index("ix_tickets_created_at", "created_at"),
    )


class TicketMessage(Base):
    __tablename__ = "ticket_messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    author_kind: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    author_email: Mapped[str | None] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)  # plain text; escaped when shown
    internal: Mapped[bool] = mapped_column(Boolean, server_default="false")
    via: Mapped[str] = mapped_column(String(8), server_default="web")
    message_id: Mapped[str | None] = mapped_column(String(250), unique=True)  # e-mail Message-ID
    in_reply_to: Mapped[str | None] = mapped_column(String(250))
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint(f"author_kind IN {AUTHOR_KINDS!r}", name="author_kind_known"),
        CheckConstraint("NOT internal OR author_kind = 'agent'", name="notes_by_agents"),
    )


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint(
            "content_type IN ('image/png', 'image/jpeg', 'application/pdf', 'text/plain')",
            name="content_type_allowed",
        ),
    )


class CannedReply(Base):
    __tablename__ = "ticket_canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _now()

    def body(self, locale: str) -> str:
        return self.body_en if locale == "en" else zh_text(self.body_zh, locale)


class TicketEvent(Base):
    """The audit trail: who read or changed a ticket, when, and what changed."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _now()
