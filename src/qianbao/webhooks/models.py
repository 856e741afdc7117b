"""Outbound webhooks (Standard Webhooks): endpoints an owner registers, the events they are sent,
one delivery per event and endpoint, and every attempt of it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

ENDPOINT_STATUSES = ("enabled", "disabled")
DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookEndpoint(Base):
    """An HTTPS endpoint of an owner (a merchant today) and the event types it wants. The signing
    secret (``whsec_…``) is sealed at rest; after a rotation the previous one keeps signing
    beside the new one until ``previous_expires_at`` (the spec's several signatures)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    status: Mapped[str] = mapped_column(String(16), server_default="enabled")
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    secret_sealed: Mapped[str] = mapped_column(Text)
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"status IN {ENDPOINT_STATUSES!r}", name="status_known"),
        Index("ix_webhook_endpoints_owner", "owner_id"),
    )


class WebhookEvent(Base):
    """One thing that happened, as its owner's endpoints receive it. ``id`` is the
    ``webhook-id`` header (``msg_…``): the same on every attempt and resend."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the body sent, exactly
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_webhook_events_owner_created", "owner_id", "created_at"),)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status_known"),
        Index("uq_webhook_deliveries_event_endpoint", "event_id", "endpoint_id", unique=True),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )


class WebhookAttempt(Base):
    """One try of a delivery: when, the answer's status and time, or what went wrong."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    response_excerpt: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempt"),)
