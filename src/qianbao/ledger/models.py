"""Ledger tables (SQLAlchemy Core, for migrations and for reading). All writes go through the
repository's bulk SQL; the triggers in migration 0002 make entries and postings append-only and
check that every entry balances per currency at commit."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from qianbao.kernel.db import Base

metadata = Base.metadata

ACCOUNT_KINDS = (
    "user_wallet",
    "merchant",
    "agent_float",
    "hold",
    "suspense",
    "bank_clearing",
    "settlement_in_transit",
    "fee_revenue",
    "fx",
    "equity",
)
ACCOUNT_STATUSES = ("active", "debit_frozen", "frozen", "closed")
HOLD_STATUSES = ("pending", "posted", "voided", "expired")

currencies = Table(
    "ledger_currencies",
    metadata,
    Column("code", Text, primary_key=True),
    Column("exponent", SmallInteger, nullable=False),
    CheckConstraint("exponent BETWEEN 0 AND 8", name="exponent_range"),
)

accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("currency", Text, ForeignKey("ledger_currencies.code"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("owner_id", UUID(as_uuid=True)),
    Column("code", Text),
    Column("no_negative", Boolean, nullable=False, server_default=text("false")),
    Column("no_positive", Boolean, nullable=False, server_default=text("false")),
    Column("status", Text, nullable=False, server_default="active"),
    Column("posted", BigInteger, nullable=False, server_default="0"),
    Column("pending_out", BigInteger, nullable=False, server_default="0"),
    Column("pending_in", BigInteger, nullable=False, server_default="0"),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("command_key", Text, unique=True),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
    CheckConstraint(f"kind IN {ACCOUNT_KINDS!r}", name="kind_known"),
    CheckConstraint(f"status IN {ACCOUNT_STATUSES!r}", name="status_known"),
    CheckConstraint("pending_out >= 0 AND pending_in >= 0", name="pending_not_negative"),
    CheckConstraint("NOT (no_negative AND no_positive)", name="one_direction_flag"),
    CheckConstraint("NOT no_negative OR posted - pending_out >= 0", name="not_negative"),
    CheckConstraint("NOT no_positive OR posted + pending_in <= 0", name="not_positive"),
    Index("ix_ledger_accounts_owner_id", "owner_id"),
    Index(
        "uq_ledger_accounts_system",
        "kind",
        "currency",
        "code",
        unique=True,
        postgresql_where=text("owner_id IS NULL"),
    ),
)

entries = Table(
    "ledger_entries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("entry_type", Text, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column(
        "created_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("statement_timestamp()"),
    ),
    Column("reverses_entry_id", UUID(as_uuid=True), ForeignKey("ledger_entries.id"), unique=True),
    Column("hold_id", UUID(as_uuid=True)),
    Column("txid", BigInteger, nullable=False, server_default=text("txid_current()")),
)

postings = Table(
    "ledger_postings",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    # No per-row foreign keys: a statement-level trigger checks entry, account and currency.
    Column("entry_id", UUID(as_uuid=True), nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column(
        "created_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("statement_timestamp()"),
    ),
    CheckConstraint("amount <> 0", name="amount_not_zero"),
    # An account's statement and its balance at a moment walk this index newest first and test
    # the time in it, without a table page per posting (migration 0025).
    Index(
        "ix_ledger_postings_account_history",
        "account_id",
        "id",
        postgresql_include=["created_at", "balance_after"],
    ),
    Index("ix_ledger_postings_entry_id", "entry_id"),
)

holds = Table(
    "ledger_holds",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("debit_account_id", BigInteger, nullable=False),
    Column("credit_account_id", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("posted_amount", BigInteger),
    Column("entry_type", Text, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("expires_at", DateTime(timezone=True)),
    Column(
        "created_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("statement_timestamp()"),
    ),
    Column("resolved_at", DateTime(timezone=True)),
    Column("entry_id", UUID(as_uuid=True), ForeignKey("ledger_entries.id")),
    ForeignKeyConstraint(
        ["debit_account_id", "currency"],
        ["ledger_accounts.id", "ledger_accounts.currency"],
        name="fk_ledger_holds_debit_account",
    ),
    ForeignKeyConstraint(
        ["credit_account_id", "currency"],
        ["ledger_accounts.id", "ledger_accounts.currency"],
        name="fk_ledger_holds_credit_account",
    ),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint(f"status IN {HOLD_STATUSES!r}", name="status_known"),
    CheckConstraint(
        "posted_amount IS NULL OR (posted_amount > 0 AND posted_amount <= amount)",
        name="posted_within_amount",
    ),
    Index("ix_ledger_holds_due", "expires_at", postgresql_where=text("status = 'pending'")),
    Index("ix_ledger_holds_debit_account_id", "debit_account_id"),
)

commands = Table(
    "ledger_commands",
    metadata,
    Column("key", Text, primary_key=True),
    Column("fingerprint", LargeBinary, nullable=False),
    Column("kind", Text, nullable=False),
    Column("entry_id", UUID(as_uuid=True)),
    Column("hold_id", UUID(as_uuid=True)),
    Column("account_id", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)
