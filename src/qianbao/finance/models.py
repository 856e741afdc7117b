"""Proposed changes of money settings (migration 0029). ``before`` is the value in force when
the change was proposed (``null``: nothing yet, as for a new bank account), ``after`` the value
asked for; both JSON with amounts in minor units. At most one change per ``target`` is pending
(a partial unique index)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

STATUSES = ("pending", "approved", "rejected")


class SettingChange(Base):
    __tablename__ = "finance_changes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    proposed_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        CheckConstraint(
            "kind IN ('fee', 'limit', 'currency', 'account', 'calendar', 'rate')",
            name="kind_known",
        ),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="decided_when_not_pending"
        ),
        Index(
            "uq_finance_changes_one_pending",
            "target",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_finance_changes_proposed_at", "proposed_at"),
    )
