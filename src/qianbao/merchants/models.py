"""Merchants (F1): the business, its staff, its API keys and its settlement bank account.
Payments, refunds, codes and settlements are in ``models_payments``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

MERCHANT_STATUSES = ("pending_review", "active", "suspended", "closed", "rejected")
KEY_SCOPES = ("read", "payments", "refunds")


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    # The short public code in the shop's static QR (``/pay/m/<code>``).
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(4))  # MCC (ISO 18245)
    uscc: Mapped[str] = mapped_column(String(18))  # Unified Social Credit Code, checked
    website: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default="pending_review")
    status_reason: Mapped[str | None] = mapped_column(String(300))
    # The settlement account, bound like a customer's card / IBAN: sealed, fingerprinted, masked.
    settlement_kind: Mapped[str] = mapped_column(String(8))  # card | iban
    settlement_number_sealed: Mapped[str] = mapped_column(Text)
    settlement_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    settlement_last4: Mapped[str] = mapped_column(String(4))
    settlement_bank_name: Mapped[str] = mapped_column(String(120))
    settlement_holder: Mapped[str] = mapped_column(String(100))
    # Per method (checkout, qr, payment_code): {"percent": "0.6", "fixed": "0", "minimum": ...}
    fee_plan: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        CheckConstraint(f"status IN {MERCHANT_STATUSES!r}", name="status_known"),
        CheckConstraint("settlement_kind IN ('card', 'iban')", name="settlement_kind_known"),
        Index(
            "uq_merchants_uscc_live",
            "uscc",
            unique=True,
            postgresql_where=text("status NOT IN ('closed', 'rejected')"),
        ),
        Index("ix_merchants_status_created", "status", "created_at"),
    )

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh


class MerchantStaff(Base):
    """Who works for a merchant: a ``merchant_staff`` user belongs to one merchant."""

    __tablename__ = "merchant_staff"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    role: Mapped[str] = mapped_column(String(8), server_default="owner")  # owner | staff
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    """A merchant API key: the secret is shown once and stored as a keyed hash; ``prefix`` is
    the visible start (``qb_sk_1a2b3c4d``). A rotated key keeps working until ``expires_at``."""

    __tablename__ = "merchant_api_keys"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    merchant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(60))
    prefix: Mapped[str] = mapped_column(String(24))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    status: Mapped[str] = mapped_column(String(8), server_default="active")  # active | revoked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        CheckConstraint("status IN ('active', 'revoked')", name="status_known"),
        Index("ix_merchant_api_keys_merchant", "merchant_id", "created_at"),
    )
