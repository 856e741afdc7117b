"""Messaging-channel tables (E8): chat accounts linked to wallets, one-time link codes and the
wrong ones sent, pushes already handled (platforms retry), which chat account a conversation
talks to, and the messages waiting to go out."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

CHANNELS = ("wechat", "telegram")
OUT_STATUSES = ("pending", "sent", "failed")


class ImLink(Base):
    """A WeChat openid or Telegram user id linked to a wallet (one per wallet and channel)."""

    __tablename__ = "im_links"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))
    peer_id: Mapped[str] = mapped_column(String(128))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),
        UniqueConstraint("channel", "peer_id"),
        UniqueConstraint("user_id", "channel"),
    )


class ImLinkCode(Base):
    """A one-time code the wallet showed; only its keyed hash is kept."""

    __tablename__ = "im_link_codes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImLinkFailure(Base):
    """A wrong (or expired, or used) link code sent from a chat account: counted per window."""

    __tablename__ = "im_link_failures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    peer_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_im_link_failures_peer_at", "channel", "peer_id", "at"),)


class ImInbound(Base):
    """A push already handled (WeChat's MsgId, Telegram's update_id): a retry is answered
    without being handled twice."""

    __tablename__ = "im_inbound"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ImConversation(Base):
    """The chat account a conversation talks to on a channel: answers go there."""

    __tablename__ = "im_conversations"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_conversations.id"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    peer_id: Mapped[str] = mapped_column(String(128))
    last_inbound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ImOutbound(Base):
    """A text waiting to go to a chat account (sent by the worker, never in a request)."""

    __tablename__ = "im_outbound"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    peer_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    # Once per chat message and peer (or per welcome / link answer: its own key).
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(8), server_default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),
        CheckConstraint(f"status IN {OUT_STATUSES!r}", name="status_known"),
        Index(
            "ix_im_outbound_due",
            "next_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )
