"""Exchange between a user's own wallets (B12): a quote fixes the rate, the spread and both
amounts for a few seconds; confirming it with the PIN books one ledger entry balanced in each
currency through the operator's FX accounts. A quote is used once."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Numeric, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7


class FxQuote(Base):
    __tablename__ = "fx_quotes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sell_currency: Mapped[str] = mapped_column(String(8))
    sell_amount: Mapped[int] = mapped_column(BigInteger)  # minor units, the fee included
    fee: Mapped[int] = mapped_column(BigInteger)  # the spread, in the sold currency
    buy_currency: Mapped[str] = mapped_column(String(8))
    buy_amount: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[Decimal] = mapped_column(Numeric(30, 12))  # units bought per unit sold (mid)
    spread: Mapped[Decimal] = mapped_column(Numeric(7, 4))  # percent
    source: Mapped[str] = mapped_column(String(64))  # "table" or the rate provider's name
    status: Mapped[str] = mapped_column(String(8), server_default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        CheckConstraint("status IN ('open', 'used')", name="status_known"),
        CheckConstraint(
            "sell_amount > 0 AND buy_amount > 0 AND fee >= 0 AND fee < sell_amount",
            name="amounts_positive",
        ),
        CheckConstraint("sell_currency <> buy_currency", name="two_currencies"),
        CheckConstraint("(status = 'used') = (used_at IS NOT NULL)", name="used_when_used"),
        Index("ix_fx_quotes_user_created", "user_id", "created_at"),
    )
