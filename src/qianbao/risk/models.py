"""The limits table, one row per KYC tier, channel and currency; operators change it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, SmallInteger, String
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
