"""The limits table, one row per KYC tier, channel and currency; operators change it. And the
restrictions put on accounts that move money too often, until an operator reviews them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, SmallInteger, String, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base


class LimitRow(Base):
    __tablename__ = "risk_limits"

    tier: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    currency: Mapped[str] = mapped_column(String(8), primary_key=True)
    single_max: Mapped[int] = mapped_column(BigInteger)
    daily_max: Mapped[int] = mapped_column(BigInteger)
    daily_count: Mapped[int] = mapped_column(Integer)
    monthly_max: Mapped[int] = mapped_column(BigInteger)
    monthly_count: Mapped[int] = mapped_column(Integer)


class Restriction(Base):
    __tablename__ = "risk_restrictions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    reason: Mapped[str] = mapped_column(String(32))  # velocity | ...
    details: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    review_note: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        Index(
            "uq_risk_restrictions_active",
            "user_id",
            unique=True,
            postgresql_where=text("lifted_at IS NULL"),
        ),
    )
