"""What a user sees in the wallet: one row per transaction per party, written in the same database
transaction as the ledger entry it describes (the ledger is the truth for amounts; these rows
carry what people search and filter on: counterparty, note, reference, kind, direction)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    LargeBinary,
    String,
    Text,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

KINDS = (
    "transfer",
    "topup",
    "withdrawal",
    "payment",
    "refund",
    "fee",
    "adjustment",
    "exchange",
)


class WalletTransaction(Base):
    __tablename__ = "wallet_transactions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    status: Mapped[str] = mapped_column(String(16), server_default="completed")
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units, always positive
    fee: Mapped[int] = mapped_column(BigInteger, server_default="0")
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    counterparty_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    counterparty_name: Mapped[str | None] = mapped_column(String(100))  # masked
    counterparty_phone: Mapped[str | None] = mapped_column(String(32))  # masked
    note: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Where the row sits in the history: when its money moved in the ledger (a withdrawal when it
    # settled, a top-up when the bank confirmed it), or, while nothing has moved, when it was
    # asked for. History is ordered by it, so each row's ``balance_after`` (the ledger's balance
    # after the row's postings) follows from the one before — as on the monthly statement.
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind_known"),
        CheckConstraint("direction IN ('in', 'out')", name="direction_known"),
        CheckConstraint(
            "status IN ('pending', 'completed', 'failed', 'reversed')", name="status_known"
        ),
        CheckConstraint("amount > 0 AND fee >= 0", name="amounts_positive"),
        Index("ix_wallet_transactions_user_created", "user_id", "created_at", "id"),
        Index(  # "has this user paid this payee before?" (the risk rules' new-payee signal)
            "ix_wallet_transactions_user_payee",
            "user_id",
            "counterparty_user_id",
            postgresql_where=text("direction = 'out'"),
        ),
        # The history (newest first, filtered, with month totals): the columns the filters and
        # the totals read ride along, so a busy user's history is read from the index (an
        # index-only scan for the totals) instead of one table page per row (migration 0023).
        Index(
            "ix_wallet_transactions_user_history",
            "user_id",
            "listed_at",
            "id",
            postgresql_include=["kind", "direction", "status", "currency", "amount"],
        ),
        # One row per entry and wallet (an exchange writes two rows of one user: one per
        # currency; migration 0031).
        Index(
            "uq_wallet_transactions_entry_user",
            "entry_id",
            "user_id",
            "account_id",
            unique=True,
        ),
    )


class BankCard(Base):
    """A bound debit card or bank account (A7). The number is sealed (AES-GCM) and never leaves
    the server whole; ``fingerprint`` (a keyed hash) spots the same number bound twice."""

    __tablename__ = "bank_cards"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(8))  # card | iban
    number_sealed: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    last4: Mapped[str] = mapped_column(String(4))
    bank_name: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    holder_name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(8), server_default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("kind IN ('card', 'iban')", name="kind_known"),
        CheckConstraint("status IN ('active', 'removed')", name="status_known"),
        Index("ix_bank_cards_user", "user_id"),
        Index(
            "uq_bank_cards_user_fingerprint",
            "user_id",
            "fingerprint",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_bank_cards_user_default",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'active' AND is_default"),
        ),
    )


class Topup(Base):
    """A top-up from a bound card through the card acquirer (B2), or by Alipay or WeChat Pay
    (B4: no card; ``fee`` is paid on top of the amount, the provider collects both). The wallet
    is credited only when the provider's verified callback says the payment succeeded, once."""

    __tablename__ = "wallet_topups"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    card_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger, server_default="0")
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    failure: Mapped[str | None] = mapped_column(String(24))
    provider: Mapped[str] = mapped_column(String(16))
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    confirmation_url: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
        Index("uq_wallet_topups_user_key", "user_id", "idempotency_key", unique=True),
        Index("uq_wallet_topups_provider_ref", "provider", "provider_ref", unique=True),
    )

    @property
    def method(self) -> str:
        """card (sandbox, stripe), alipay or wechatpay."""
        return self.provider if self.provider in ("alipay", "wechatpay") else "card"


WITHDRAWAL_STATUSES = (
    "in_review",  # above the automatic-approval threshold: an operator decides
    "approved",  # to be handed to the payout provider
    "submitted",  # with the provider
    "settled",  # paid out (final unless the bank returns it)
    "failed",  # the provider could not pay: hold released, fee returned
    "rejected",  # refused by an operator: hold released, fee returned
    "returned",  # paid out, then sent back by the bank: amount and fee credited again
)


class Withdrawal(Base):
    """A withdrawal to a bound card or account (B10): the amount and the fee are held in the
    ledger when it is asked for, posted when the payout settles, released if it fails or is
    rejected, and reversed if the bank returns it."""

    __tablename__ = "wallet_withdrawals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    card_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    method: Mapped[str] = mapped_column(String(8))  # card | iban
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    amount_hold_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    fee_hold_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    amount_entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    fee_entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    expected_on: Mapped[date] = mapped_column(Date)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"status IN {WITHDRAWAL_STATUSES!r}", name="status_known"),
        CheckConstraint("amount > 0 AND fee >= 0", name="amounts_positive"),
        Index("uq_wallet_withdrawals_user_key", "user_id", "idempotency_key", unique=True),
        Index("ix_wallet_withdrawals_status", "status", "created_at"),
    )


class WithdrawalEvent(Base):
    """The timeline of a withdrawal, one row per step, for the user and the operator."""

    __tablename__ = "wallet_withdrawal_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    withdrawal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(300))  # a reason (an N_ msgid or free text)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


HELD_STATUSES = (
    "waiting",  # the money is on a ledger hold; the user has not answered yet
    "confirmed",  # "Yes, it was me": the hold posted
    "denied",  # "No": the hold voided, the account frozen
    "expired",  # no answer in time: the hold voided
)


class HeldTransfer(Base):
    """A transfer the risk rules held (D2): its money waits on a ledger hold until the user
    answers "Was this you?". The sender's wallet row is ``pending`` meanwhile; the recipient
    sees nothing until it posts."""

    __tablename__ = "wallet_held_transfers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    recipient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # the sender's row
    decision_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    hold_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), server_default="waiting")
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_ip: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint(f"status IN {HELD_STATUSES!r}", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("uq_wallet_held_transfers_user_key", "user_id", "idempotency_key", unique=True),
        Index(
            "ix_wallet_held_transfers_waiting",
            "expires_at",
            postgresql_where=text("status = 'waiting'"),
        ),
        Index("ix_wallet_held_transfers_user", "user_id", "created_at"),
    )


@event.listens_for(WalletTransaction, "before_insert")
def _listed_when_asked(mapper: Any, connection: Any, row: WalletTransaction) -> None:
    # Until its money moves (then the code that posts it moves the row), a row is listed at the
    # moment it was asked for.
    if row.listed_at is None:
        row.listed_at = row.created_at
