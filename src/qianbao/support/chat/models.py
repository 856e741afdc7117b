"""Live-chat tables: conversations (a signed-in customer or a visitor), their messages (text
already masked, an optional image, read marks of both sides), images, and the agents' presence
and capacity (with the time of their last assignment, for round-robin)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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

STATUSES = ("bot", "queued", "assigned", "closed")
SENDERS = ("customer", "bot", "agent", "system")


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class ChatConversation(Base):
    __tablename__ = "chat_conversations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    # A signed-in customer (verified by the wallet session) or a visitor (hash of the token in
    # the signed visitor cookie); never both.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    visitor_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    verified: Mapped[bool] = mapped_column(Boolean, server_default="false")
    locale: Mapped[str] = mapped_column(String(8), server_default="zh_CN")
    # Where the customer writes from: the web chat, or WeChat / Telegram (support.im, E8).
    channel: Mapped[str] = mapped_column(String(16), server_default="web")
    status: Mapped[str] = mapped_column(String(16), server_default="bot")
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The ticket this conversation became (tickets are another package: a plain UUID).
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _now()
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint("channel IN ('web', 'wechat', 'telegram')", name="channel_known"),
        CheckConstraint("(user_id IS NULL) <> (visitor_hash IS NULL)", name="one_owner"),
        CheckConstraint("verified = (user_id IS NOT NULL)", name="verified_is_user"),
        CheckConstraint("status <> 'assigned' OR agent_id IS NOT NULL", name="assigned_agent"),
        # One open conversation per customer and per visitor.
        Index(
            "uq_chat_conversations_open_user",
            "user_id",
            unique=True,
            postgresql_where=text("status <> 'closed' AND user_id IS NOT NULL"),
        ),
        Index(
            "uq_chat_conversations_open_visitor",
            "visitor_hash",
            unique=True,
            postgresql_where=text("status <> 'closed' AND visitor_hash IS NOT NULL"),
        ),
        Index("ix_chat_conversations_agent_status", "agent_id", "status"),
        Index("ix_chat_conversations_status_queued_at", "status", "queued_at"),
        Index(
            "ix_chat_conversations_user_closed",
            "user_id",
            "closed_at",
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        Index(
            "ix_chat_conversations_visitor_closed",
            "visitor_hash",
            "closed_at",
            postgresql_where=text("visitor_hash IS NOT NULL"),
        ),
        Index("ix_chat_conversations_created_at", "created_at"),
    )


class ChatAttachment(Base):
    """An image a customer sent (PNG or JPEG, checked by its content, size-capped)."""

    __tablename__ = "chat_attachments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_conversations.id"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint("content_type IN ('image/png', 'image/jpeg')", name="image_type"),
    )


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chat_conversations.id"))
    sender: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text, server_default="")  # masked before it is stored
    masked: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Bot and system messages: the message key, its parameters and the articles offered, so
    # that each side reads them in its own language.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_attachments.id"))
    created_at: Mapped[datetime] = _now()
    read_by_customer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_by_agent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"sender IN {SENDERS!r}", name="sender_known"),
        Index("ix_chat_messages_conversation_id_id", "conversation_id", "id"),
    )


class ChatAgent(Base):
    """A support agent's presence in the chat: online or not, when last seen, how many
    conversations at once, and when they were last given one (the round-robin order)."""

    __tablename__ = "chat_agents"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean, server_default="false")
    max_concurrent: Mapped[int] = mapped_column(SmallInteger, server_default="3")
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last sign of life from a console page or API client (database time): an online agent
    # not seen within ``chat.presence_ttl_s`` gets no new conversations.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint("max_concurrent BETWEEN 1 AND 50", name="capacity_range"),
        Index("ix_chat_agents_online_last_seen", "last_seen_at", postgresql_where=text("online")),
    )
