"""cash agents (B5): agents with a place, hours and an e-money float; cash operations

Also the operator's account the agents' commissions are paid from (``equity:agent-commission``,
one per currency).

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cash_agents",
        sa.Column("merchant_id", sa.UUID(), nullable=False),
        sa.Column("city_zh", sa.String(length=40), nullable=False),
        sa.Column("city_en", sa.String(length=40), nullable=False),
        sa.Column("district_zh", sa.String(length=40), nullable=False),
        sa.Column("district_en", sa.String(length=40), nullable=False),
        sa.Column("address_zh", sa.String(length=200), nullable=False),
        sa.Column("address_en", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("hours", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="active", nullable=False),
        sa.Column("bank_reference", sa.String(length=16), nullable=False),
        sa.Column("float_account_id", sa.BigInteger(), nullable=False),
        sa.Column("commission_in", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column("commission_out", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "commission_in >= 0 AND commission_in <= 5 AND commission_out >= 0 "
            "AND commission_out <= 5",
            name=op.f("ck_cash_agents_commission_range"),
        ),
        sa.CheckConstraint(
            "latitude BETWEEN -90 AND 90", name=op.f("ck_cash_agents_latitude_range")
        ),
        sa.CheckConstraint(
            "longitude BETWEEN -180 AND 180", name=op.f("ck_cash_agents_longitude_range")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused')", name=op.f("ck_cash_agents_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_cash_agents_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_cash_agents")),
        sa.UniqueConstraint("bank_reference", name=op.f("uq_cash_agents_bank_reference")),
    )
    op.create_table(
        "cash_operations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("id_checked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entry_id", sa.UUID(), nullable=True),
        sa.Column("transaction_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "amount > 0 AND commission >= 0", name=op.f("ck_cash_operations_amounts_positive")
        ),
        sa.CheckConstraint(
            "kind IN ('cash_in', 'cash_out')", name=op.f("ck_cash_operations_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'completed', 'declined', 'cancelled', 'expired')",
            name=op.f("ck_cash_operations_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_operations")),
        sa.UniqueConstraint("reference", name=op.f("uq_cash_operations_reference")),
    )
    op.create_index(
        "uq_cash_operations_agent_key",
        "cash_operations",
        ["agent_id", "idempotency_key"],
        unique=True,
    )
    op.create_index(
        "ix_cash_operations_agent_created", "cash_operations", ["agent_id", "created_at"]
    )
    op.create_index(
        "ix_cash_operations_user_pending",
        "cash_operations",
        ["user_id"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.execute(
        "INSERT INTO ledger_accounts (currency, kind, code, no_negative) "
        "SELECT c.code, 'equity', 'agent-commission', false FROM ledger_currencies c "
        "WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.owner_id IS NULL "
        "AND a.kind = 'equity' AND a.currency = c.code AND a.code = 'agent-commission') "
        "ORDER BY c.code"
    )


def downgrade() -> None:
    op.drop_index("ix_cash_operations_user_pending", table_name="cash_operations")
    op.drop_index("ix_cash_operations_agent_created", table_name="cash_operations")
    op.drop_index("uq_cash_operations_agent_key", table_name="cash_operations")
    op.drop_table("cash_operations")
    op.drop_table("cash_agents")
    op.execute(
        "DELETE FROM ledger_accounts WHERE owner_id IS NULL AND kind = 'equity' "
        "AND code = 'agent-commission' AND posted = 0 AND NOT EXISTS "
        "(SELECT 1 FROM ledger_postings p WHERE p.account_id = ledger_accounts.id)"
    )
