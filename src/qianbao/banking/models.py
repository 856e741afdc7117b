"""Bank rails' tables: the operator's receiving accounts, imported statement files, their
statements and lines (migration 0027). A line's ``status`` says where its money went:
``credited`` to the wallet its reference names, ``booked`` by a rule (charges, interest),
``paid_out`` (a payout of ours left the account), ``returned`` (one came back), ``suspense``
waiting for an operator, ``resolved`` by one (matched to a wallet or booked). Also the payout
files (pain.001) and the daily safeguarding reports."""

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
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

LINE_STATUSES = ("credited", "booked", "paid_out", "returned", "suspense", "resolved")
BATCH_STATUSES = ("draft", "approved", "released", "cancelled")


class ReceivingAccount(Base):
    __tablename__ = "bank_receiving_accounts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    holder_name: Mapped[str] = mapped_column(String(140))
    bank_name: Mapped[str] = mapped_column(String(140))
    branch: Mapped[str | None] = mapped_column(String(140))
    account_number: Mapped[str] = mapped_column(String(40))
    bic: Mapped[str | None] = mapped_column(String(11))
    currency: Mapped[str] = mapped_column(String(8))
    statement_id: Mapped[str] = mapped_column(String(64), unique=True)
    ledger_account_id: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StatementFile(Base):
    __tablename__ = "bank_statement_files"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))
    imported_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    statements: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)
    lines_new: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("source IN ('upload', 'folder', 'command', 'demo')", name="source_known"),
    )


class BankStatement(Base):
    __tablename__ = "bank_statements"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    file_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bank_statement_files.id")
    )
    receiving_account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bank_receiving_accounts.id")
    )
    kind: Mapped[str] = mapped_column(String(16))
    bank_statement_id: Mapped[str] = mapped_column(String(140))
    currency: Mapped[str] = mapped_column(String(8))
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    opening: Mapped[int | None] = mapped_column(BigInteger)
    closing: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("receiving_account_id", "kind", "bank_statement_id"),)


class StatementLine(Base):
    __tablename__ = "bank_statement_lines"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    statement_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bank_statements.id")
    )
    receiving_account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    bank_ref: Mapped[str] = mapped_column(String(140))
    line_no: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(6))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    remittance: Mapped[str] = mapped_column(Text)
    end_to_end_id: Mapped[str | None] = mapped_column(String(64))
    counterparty_name: Mapped[str | None] = mapped_column(String(140))
    counterparty_account_last4: Mapped[str | None] = mapped_column(String(4))
    counterparty_account_sealed: Mapped[str | None] = mapped_column(Text)
    bank_tx_code: Mapped[str | None] = mapped_column(String(64))
    reversal: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    wallet_transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolution_note: Mapped[str | None] = mapped_column(String(500))
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    proposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("receiving_account_id", "bank_ref"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("direction IN ('credit', 'debit')", name="direction_known"),
        CheckConstraint(f"status IN {LINE_STATUSES!r}", name="status_known"),
        Index(
            "ix_bank_lines_suspense",
            "created_at",
            postgresql_where=text("status = 'suspense'"),
        ),
        Index("ix_bank_lines_statement", "statement_id", "line_no"),
        Index("ix_bank_lines_user", "user_id", postgresql_where=text("user_id IS NOT NULL")),
    )


class PayoutBatch(Base):
    """One pain.001 file: the queued payouts of one currency, from one receiving account. Made
    by one operator (a draft), approved by another, then released (downloaded for the bank)."""

    __tablename__ = "bank_payout_batches"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    receiving_account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    status: Mapped[str] = mapped_column(String(12))
    count: Mapped[int] = mapped_column(Integer)
    control_sum: Mapped[int] = mapped_column(BigInteger)
    execution_date: Mapped[date] = mapped_column(Date)
    document: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    released_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint(f"status IN {BATCH_STATUSES!r}", name="status_known"),)


class SafeguardingReport(Base):
    """A day's safeguarding figures per currency (``figures``: the lines of the report)."""

    __tablename__ = "bank_safeguarding_reports"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    day: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(8))
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    unexplained: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("day", "currency"),)
