"""The approved overrides of the money settings (migration 0029). A row exists only once the
finance console changed the setting; without one, the environment's setting applies. Amounts
are integer minor units of the row's currency; ``change_id`` names the approved change that
wrote the row (``finance_changes``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Numeric,
    SmallInteger,
    String,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base


class FeePlan(Base):
    """A fee: ``fixed`` + ``percent`` of the amount, kept between ``minimum`` and ``maximum``.
    ``target`` is ``withdrawal:<method>`` or ``topup:<method>``."""

    __tablename__ = "finance_fee_plans"

    target: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(8))
    fixed: Mapped[int] = mapped_column(BigInteger)
    percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    minimum: Mapped[int] = mapped_column(BigInteger)
    maximum: Mapped[int | None] = mapped_column(BigInteger)
    change_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "fixed >= 0 AND minimum >= 0 AND percent >= 0 AND percent <= 100 "
            "AND (maximum IS NULL OR maximum >= minimum)",
            name="amounts_sane",
        ),
    )


class CurrencySetting(Base):
    """A currency's settings: whether it takes new money (top-ups), and the amount above which
    a withdrawal waits for an operator."""

    __tablename__ = "finance_currencies"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    review_above: Mapped[int] = mapped_column(BigInteger)
    change_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("review_above >= 0", name="review_above_not_negative"),)


class CalendarYear(Base):
    """One year of the business calendar: its public holidays and the weekend days worked
    instead (调休). A year with a row replaces that year of the settings' lists."""

    __tablename__ = "finance_calendar_years"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    holidays: Mapped[list[date]] = mapped_column(ARRAY(Date))
    workdays: Mapped[list[date]] = mapped_column(ARRAY(Date))
    change_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FxRate(Base):
    """An exchange rate the operator set (B12): what one unit of ``code`` costs in CNY, and the
    spread (percent) a customer pays on an exchange into or out of it. Each row is written by an
    approved change; the change log (``finance_changes``) keeps every earlier value."""

    __tablename__ = "fx_rates"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    per_cny: Mapped[Decimal] = mapped_column(Numeric(24, 12))
    spread: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    change_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("per_cny > 0", name="rate_positive"),
        CheckConstraint("spread >= 0 AND spread <= 10", name="spread_range"),
    )
