"""USDT on chains: deposit addresses, deposits, withdrawals to an address, the watcher's cursor,
the development chain's record, and a clearing account per network in USDT

- ``chain_addresses``: a user's deposit address per network (unique per user and network, and
  per network and address);
- ``chain_deposits``: one row per USDT transfer to a user's address (unique per network,
  transaction hash and log index: a deposit reported twice is credited once);
- ``chain_withdrawals``: a withdrawal to an address (held, sent, confirmed or failed);
- ``chain_cursors``: how far the watcher has read each network;
- ``dev_chain_transfers``: the development chain's own record (never used in production);
- the ledger's clearing accounts of the networks (kind ``bank_clearing``, USDT, codes
  ``chain-trc20`` and ``chain-erc20``): the operator's wallets on the chains.

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLEARING = ("chain-trc20", "chain-erc20")
DEPOSIT_STATUSES = "('pending', 'credited', 'suspense', 'dropped')"
WITHDRAWAL_STATUSES = "('queued', 'sent', 'completed', 'failed')"


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    for code in CLEARING:
        op.execute(
            "INSERT INTO ledger_accounts (currency, kind, code, no_negative) "
            f"SELECT 'USDT', 'bank_clearing', '{code}', false WHERE NOT EXISTS (SELECT 1 FROM "
            "ledger_accounts a WHERE a.owner_id IS NULL AND a.kind = 'bank_clearing' "
            f"AND a.currency = 'USDT' AND a.code = '{code}')"
        )
    op.create_table(
        "chain_addresses",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("network", sa.String(8), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_addresses")),
    )
    op.create_index(
        "uq_chain_addresses_user_network", "chain_addresses", ["user_id", "network"], unique=True
    )
    op.create_index(
        "uq_chain_addresses_network_address",
        "chain_addresses",
        ["network", "address"],
        unique=True,
    )
    op.create_table(
        "chain_deposits",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("network", sa.String(8), nullable=False),
        sa.Column("txid", sa.String(64), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("from_address", sa.String(64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=True),
        sa.Column("confirmations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), server_default="pending", nullable=False),
        sa.Column("transaction_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("entry_id", pg.UUID(as_uuid=True), nullable=True),
        _when("seen_at"),
        _when("credited_at", nullable=True),
        _when("updated_at"),
        sa.CheckConstraint(
            f"status IN {DEPOSIT_STATUSES}", name=op.f("ck_chain_deposits_status_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_chain_deposits_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_deposits")),
    )
    op.create_index(
        "uq_chain_deposits_tx", "chain_deposits", ["network", "txid", "log_index"], unique=True
    )
    op.create_index("ix_chain_deposits_user_seen", "chain_deposits", ["user_id", "seen_at"])
    op.create_index(
        "ix_chain_deposits_pending",
        "chain_deposits",
        ["network"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "chain_withdrawals",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("network", sa.String(8), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), server_default="queued", nullable=False),
        sa.Column("txid", sa.String(64), nullable=True),
        sa.Column("network_fee", sa.String(40), nullable=True),
        sa.Column("block", sa.BigInteger(), nullable=True),
        sa.Column("confirmations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("failure", sa.String(200), nullable=True),
        sa.Column("transaction_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("amount_hold_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("fee_hold_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("amount_entry_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("fee_entry_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        _when("created_at"),
        _when("sent_at", nullable=True),
        _when("finished_at", nullable=True),
        _when("updated_at"),
        sa.CheckConstraint(
            f"status IN {WITHDRAWAL_STATUSES}", name=op.f("ck_chain_withdrawals_status_known")
        ),
        sa.CheckConstraint(
            "amount > 0 AND fee >= 0", name=op.f("ck_chain_withdrawals_amounts_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_withdrawals")),
    )
    op.create_index(
        "uq_chain_withdrawals_user_key",
        "chain_withdrawals",
        ["user_id", "idempotency_key"],
        unique=True,
    )
    op.create_index(
        "uq_chain_withdrawals_tx", "chain_withdrawals", ["network", "txid"], unique=True
    )
    op.create_index(
        "ix_chain_withdrawals_user_created", "chain_withdrawals", ["user_id", "created_at"]
    )
    op.create_index(
        "ix_chain_withdrawals_open",
        "chain_withdrawals",
        ["status"],
        postgresql_where=sa.text("status IN ('queued', 'sent')"),
    )
    op.create_table(
        "chain_cursors",
        sa.Column("network", sa.String(8), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_chain_cursors")),
    )
    op.create_table(
        "dev_chain_transfers",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("network", sa.String(8), nullable=False),
        sa.Column("txid", sa.String(64), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("from_address", sa.String(64), nullable=False),
        sa.Column("to_address", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("network_fee", sa.String(32), nullable=False),
        _when("created_at"),
        sa.CheckConstraint(
            "status IN ('success', 'failed')", name=op.f("ck_dev_chain_transfers_status_known")
        ),
        sa.CheckConstraint(
            "kind IN ('faucet', 'send')", name=op.f("ck_dev_chain_transfers_kind_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_dev_chain_transfers_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dev_chain_transfers")),
    )
    op.create_index(
        "uq_dev_chain_transfers_tx",
        "dev_chain_transfers",
        ["network", "txid", "log_index"],
        unique=True,
    )
    op.create_index(
        "uq_dev_chain_transfers_reference",
        "dev_chain_transfers",
        ["network", "reference"],
        unique=True,
    )
    op.create_index("ix_dev_chain_transfers_block", "dev_chain_transfers", ["network", "block"])


def downgrade() -> None:
    # The clearing accounts stay: ledger accounts are never deleted (a trigger forbids it).
    op.drop_table("dev_chain_transfers")
    op.drop_table("chain_cursors")
    op.drop_table("chain_withdrawals")
    op.drop_table("chain_deposits")
    op.drop_table("chain_addresses")
