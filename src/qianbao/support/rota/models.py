"""The rota: weekly shifts per agent (China time). A shift ending at or before its start runs
over midnight into the next day."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, SmallInteger, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7


class AgentShift(Base):
    __tablename__ = "support_agent_shifts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # ISO, 1 = Monday
    starts_min: Mapped[int] = mapped_column(SmallInteger)  # minutes after midnight
    ends_min: Mapped[int] = mapped_column(SmallInteger)  # <= starts_min: the next day
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_known"),
        CheckConstraint("starts_min BETWEEN 0 AND 1439", name="starts_in_day"),
        CheckConstraint("ends_min BETWEEN 1 AND 1440", name="ends_in_day"),
        Index("ix_support_agent_shifts_agent_id_weekday", "agent_id", "weekday"),
    )
