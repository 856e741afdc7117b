"""Spending insights and budgets (B13): a monthly budget per category and the alerts sent.

A budget is a user's limit for one spending category (or ``total``, all of them) in one currency;
it holds for every month until it is changed or removed. An alert is written once per budget,
month and level (80 and 100 % of the budget): the unique index is what lets two payments that
cross 80 % at the same moment send one alert, not two."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

# The budget categories: the spending categories of ``wallet.insights`` and ``total``. Kept here
# (not imported) so the table's check and the migration say the same thing.
BUDGET_CATEGORIES = (
    "total",
    "food",
    "shopping",
    "transport",
    "bills",
    "leisure",
    "health",
    "education",
    "other",
    "transfers",
    "fees",
)
LEVELS = (80, 100)


class Budget(Base):
    __tablename__ = "wallet_budgets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units a month
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"category IN {BUDGET_CATEGORIES!r}", name="category_known"),
        Index("uq_wallet_budgets_user_currency_category", "user_id", "currency", "category",
              unique=True),
    )  # fmt: skip


class BudgetAlert(Base):
    """One alert: ``level`` % of the budget was reached in ``month`` (its first day, China
    time). Keyed by the budget's user, currency and category, not its id: a budget removed and
    set again in the same month does not alert twice."""

    __tablename__ = "wallet_budget_alerts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    month: Mapped[date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(SmallInteger)
    spent: Mapped[int] = mapped_column(BigInteger)  # minor units, when the alert was written
    budget: Mapped[int] = mapped_column(BigInteger)  # the budget's amount then
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"level IN {LEVELS!r}", name="level_known"),
        Index("uq_wallet_budget_alerts_once", "user_id", "currency", "category", "month", "level",
              unique=True),
    )  # fmt: skip
