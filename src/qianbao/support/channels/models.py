"""Tables of the official-channel registry (D6) and the contact page (E4): the channels the
operator declares official, the public agent id of each staff member, call-back requests, and
the per-IP counters that rate-limit lookups."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.hant import zh_text
from qianbao.kernel.ids import uuid7

KINDS = ("phone", "website", "email", "social", "agent_id")
SOURCES = ("operator", "settings", "staff")
CALLBACK_STATUSES = ("new", "done")


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class OfficialChannel(Base):
    """One official way to reach the operator. ``value`` is normalised (see normalize.py), so a
    lookup compares exact strings: '+8613800138000', 'qianbao.example', 'help@qianbao.example',
    'wechat:qianbaowallet', 'QB-123456'. Rows are deactivated, never deleted: 'is this still
    ours?' has a history."""

    __tablename__ = "official_channels"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(254))
    label_zh: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    source: Mapped[str] = mapped_column(String(16), server_default="operator")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # None: automatic
    created_at: Mapped[datetime] = _now()
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint(f"kind IN {KINDS!r}", name="kind_known"),
        CheckConstraint(f"source IN {SOURCES!r}", name="source_known"),
    )

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else zh_text(self.label_zh, locale)


class AgentId(Base):
    """The public agent id of a staff member ('QB-123456'), given the first time it is needed.
    It is what an agent tells a customer, and what /verify checks."""

    __tablename__ = "support_agent_ids"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = _now()


class CallbackRequest(Base):
    """'Please call me back' from a signed-in user (E4). Each request opens a ticket (channel
    ``callback``, found by ``tickets.intake['callback']``, the request's id)."""

    __tablename__ = "support_callback_requests"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    # None: a visitor who booked a slot from the chat (no ticket: nobody to answer to)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164, the account's number when asked
    time_window: Mapped[str] = mapped_column(String(16))  # '09-12', 'asap', a slot's start
    slot_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # from the chat
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    topic: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, server_default="")
    locale: Mapped[str] = mapped_column(String(8), server_default="zh_CN")
    status: Mapped[str] = mapped_column(String(8), server_default="new")
    created_at: Mapped[datetime] = _now()
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        CheckConstraint(f"status IN {CALLBACK_STATUSES!r}", name="status_known"),
        Index("ix_support_callback_requests_status_created_at", "status", "created_at"),
        # At most one open request per user.
        Index(
            "uq_support_callback_requests_open",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'new'"),
        ),
        # ... and per visitor's number.
        Index(
            "uq_support_callback_requests_open_phone",
            "phone",
            unique=True,
            postgresql_where=text("status = 'new' AND user_id IS NULL"),
        ),
        Index("ix_support_callback_requests_slot_at", "slot_at"),
    )


class LookupCounter(Base):
    """Channel lookups per client IP and fixed time window (rate limit of /verify)."""

    __tablename__ = "channel_lookup_counters"

    ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (Index("ix_channel_lookup_counters_window_start", "window_start"),)
