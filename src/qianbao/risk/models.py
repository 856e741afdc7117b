"""The limits table, one row per KYC tier, channel and currency; operators change it. The
restrictions put on accounts that move money too often, until an operator reviews them. The
real-time rules (D2), the changes proposed to them (four-eyes) and the decision log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7


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


class RuleRow(Base):
    """One real-time rule as it is in force (``qianbao.risk.rules.Rule``)."""

    __tablename__ = "risk_rules"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str] = mapped_column(String(8))
    min_amount: Mapped[int] = mapped_column(BigInteger)  # major units
    threshold: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    change_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # what set it

    __table_args__ = (
        CheckConstraint("action IN ('step_up', 'hold', 'block')", name="action_known"),
        CheckConstraint("min_amount >= 0 AND threshold >= 0", name="numbers_positive"),
    )


class RuleChange(Base):
    """A change to a rule, proposed by one staff member and applied only when another approves
    (four-eyes). The back-test figures shown to the approver are kept with it."""

    __tablename__ = "risk_rule_changes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    code: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str] = mapped_column(String(8))
    min_amount: Mapped[int] = mapped_column(BigInteger)
    threshold: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), server_default="proposed")
    proposed_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    backtest: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))

    __table_args__ = (
        CheckConstraint(
            "status IN ('proposed', 'applied', 'rejected', 'withdrawn')", name="status_known"
        ),
        CheckConstraint("action IN ('step_up', 'hold', 'block')", name="action_known"),
        Index(
            "uq_risk_rule_changes_open",
            "code",
            unique=True,
            postgresql_where=text("status = 'proposed'"),
        ),
    )


class DecisionRow(Base):
    """What the rules decided for one money-out operation, with the signals they saw (so that an
    agent can read why, and a back-test can replay them). ``outcome`` follows a hold or step-up:
    passed, confirmed, denied, expired."""

    __tablename__ = "risk_decisions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    counterparty_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    device_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    signals: Mapped[dict[str, Any]] = mapped_column(JSONB)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    outcome: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("action IN ('allow', 'step_up', 'hold', 'block')", name="action_known"),
        Index("ix_risk_decisions_created", "created_at"),
        Index("ix_risk_decisions_user_created", "user_id", "created_at"),
        Index("ix_risk_decisions_transaction", "transaction_id"),
    )
