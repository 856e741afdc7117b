"""real-time risk rules, their four-eyes changes, the decision log, held transfers

Revision ID: 0019
Revises: 0018

The rules a new installation starts with are written here (``qianbao.risk.rules.DEFAULT_RULES``
at the time of writing, copied so that a later change of the defaults does not rewrite history).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULTS = (
    ("new_device_large", True, "hold", 2_000, 0),
    ("new_payee_large", True, "step_up", 5_000, 0),
    ("velocity", True, "step_up", 0, 10),
    ("unusual_amount", True, "step_up", 500, 5),
    ("unusual_hour", True, "step_up", 500, 20),
    ("recent_security_change", True, "hold", 1_000, 0),
    ("failed_pins", True, "step_up", 0, 3),
)


def _ts(name: str, nullable: bool = True, default: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if default else None,
    )


def upgrade() -> None:
    op.create_table(
        "risk_rules",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("min_amount", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        _ts("updated_at", nullable=False, default=True),
        sa.Column("change_id", pg.UUID(as_uuid=True), nullable=True),
        sa.CheckConstraint(
            "action IN ('step_up', 'hold', 'block')", name=op.f("ck_risk_rules_action_known")
        ),
        sa.CheckConstraint(
            "min_amount >= 0 AND threshold >= 0", name=op.f("ck_risk_rules_numbers_positive")
        ),
    )
    rules = sa.table(
        "risk_rules",
        sa.column("code", sa.String),
        sa.column("enabled", sa.Boolean),
        sa.column("action", sa.String),
        sa.column("min_amount", sa.BigInteger),
        sa.column("threshold", sa.Integer),
    )
    op.bulk_insert(
        rules,
        [
            {"code": c, "enabled": e, "action": a, "min_amount": m, "threshold": t}
            for c, e, a, m, t in DEFAULTS
        ],
    )
    op.create_table(
        "risk_rule_changes",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("min_amount", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="proposed"),
        sa.Column("proposed_by", pg.UUID(as_uuid=True), nullable=False),
        _ts("proposed_at", nullable=False),
        sa.Column("decided_by", pg.UUID(as_uuid=True), nullable=True),
        _ts("decided_at"),
        sa.Column(
            "backtest",
            pg.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'applied', 'rejected', 'withdrawn')",
            name=op.f("ck_risk_rule_changes_status_known"),
        ),
        sa.CheckConstraint(
            "action IN ('step_up', 'hold', 'block')",
            name=op.f("ck_risk_rule_changes_action_known"),
        ),
    )
    op.create_index(
        "uq_risk_rule_changes_open",
        "risk_rule_changes",
        ["code"],
        unique=True,
        postgresql_where=sa.text("status = 'proposed'"),
    )
    op.create_table(
        "risk_decisions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("counterparty_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("device_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("reasons", pg.ARRAY(sa.String(32)), nullable=False),
        sa.Column("signals", pg.JSONB(), nullable=False),
        sa.Column("transaction_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=True),
        _ts("created_at", nullable=False),
        sa.CheckConstraint(
            "action IN ('allow', 'step_up', 'hold', 'block')",
            name=op.f("ck_risk_decisions_action_known"),
        ),
    )
    op.create_index("ix_risk_decisions_created", "risk_decisions", ["created_at"])
    op.create_index("ix_risk_decisions_user_created", "risk_decisions", ["user_id", "created_at"])
    op.create_index("ix_risk_decisions_transaction", "risk_decisions", ["transaction_id"])
    op.create_table(
        "wallet_held_transfers",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("recipient_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("transaction_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("decision_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("hold_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="waiting"),
        sa.Column("entry_id", pg.UUID(as_uuid=True), nullable=True),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("answered_at"),
        sa.Column("answered_ip", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'confirmed', 'denied', 'expired')",
            name=op.f("ck_wallet_held_transfers_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_wallet_held_transfers_amount_positive")),
    )
    op.create_index(
        "uq_wallet_held_transfers_user_key",
        "wallet_held_transfers",
        ["user_id", "idempotency_key"],
        unique=True,
    )
    op.create_index(
        "ix_wallet_held_transfers_waiting",
        "wallet_held_transfers",
        ["expires_at"],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.create_index(
        "ix_wallet_held_transfers_user", "wallet_held_transfers", ["user_id", "created_at"]
    )
    op.create_index(
        "ix_wallet_transactions_user_payee",
        "wallet_transactions",
        ["user_id", "counterparty_user_id"],
        postgresql_where=sa.text("direction = 'out'"),
    )


def downgrade() -> None:
    op.drop_index("ix_wallet_transactions_user_payee", table_name="wallet_transactions")
    op.drop_table("wallet_held_transfers")
    op.drop_table("risk_decisions")
    op.drop_table("risk_rule_changes")
    op.drop_table("risk_rules")
