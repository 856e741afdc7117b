"""The transactional outbox: a domain records "this happened" in the same transaction as the change
itself. After commit the worker's relay turns each message into jobs for its subscribers; a
rolled-back transaction leaves no message, so nothing is ever sent for a change that did not
happen."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, func, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base

NOTIFY_CHANNEL = "qianbao_outbox"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    relayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_outbox_messages_pending", "id", postgresql_where=text("relayed_at IS NULL")),
    )


async def emit(
    session: AsyncSession, topic: str, payload: dict[str, Any], *, wake: bool = True
) -> None:
    """Record a message in the caller's transaction. ``payload`` must be JSON-serialisable and
    must not carry secrets (it is stored and may be logged).

    ``wake`` sends a NOTIFY (delivered at commit) so the relay picks the message up at once.
    Hot paths pass ``wake=False``: NOTIFY serialises committing transactions, and the relay's
    polling picks the message up within its poll interval anyway."""
    await session.execute(insert(OutboxMessage).values(topic=topic, payload=payload))
    if wake:
        await session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": NOTIFY_CHANNEL})


_EMIT_MANY = text(
    """
    INSERT INTO outbox_messages (topic, payload)
    SELECT :topic, p::jsonb FROM unnest(CAST(:payloads AS text[])) WITH ORDINALITY AS u(p, n)
     ORDER BY n
    """
)


async def emit_many(
    session: AsyncSession, topic: str, payloads: list[dict[str, Any]], *, wake: bool = True
) -> None:
    """``emit`` for many messages of one topic in one statement of fixed shape (an array, so the
    prepared statement is reused whatever their number), and at most one NOTIFY."""
    if not payloads:
        return
    await session.execute(
        _EMIT_MANY, {"topic": topic, "payloads": [json.dumps(p) for p in payloads]}
    )
    if wake:
        await session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": NOTIFY_CHANNEL})
