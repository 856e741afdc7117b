"""disputes: cases and their timeline; the operator's fraud-loss account

Revision ID: 0020
Revises: 0019

An approved refund the recipient can no longer pay is taken from ``equity:fraud_losses`` (one per
currency), visibly, as its own entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.execute(
        "INSERT INTO ledger_accounts (currency, kind, code, no_negative) "
        "SELECT code, 'equity', 'fraud_losses', false FROM ledger_currencies"
    )
    op.create_table(
        "dispute_cases",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="open"),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("transaction_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("counterparty_user_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("merchant_payment_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("merchant_id", pg.UUID(as_uuid=True), nullable=True),
        _ts("merchant_due_at"),
        sa.Column("merchant_answer", sa.Text(), nullable=True),
        _ts("merchant_answered_at"),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("claimed", sa.BigInteger(), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        _ts("noticed_at"),
        sa.Column("shared", sa.String(12), nullable=False),
        sa.Column("froze_account", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ticket_reference", sa.String(32), nullable=True),
        sa.Column("hold_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("held", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("recommendation", sa.String(8), nullable=True),
        sa.Column("recommended_amount", sa.BigInteger(), nullable=True),
        sa.Column("recommended_by", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("recommendation_note", sa.Text(), nullable=True),
        sa.Column("decided_by", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("recovered_held", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("recovered_merchant", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("written_off", sa.BigInteger(), nullable=False, server_default="0"),
        _ts("appealed_at"),
        sa.Column("appeal_note", sa.Text(), nullable=True),
        _ts("due_at", nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        _ts("closed_at"),
        sa.CheckConstraint(
            "kind IN ('unauthorized', 'mistaken')", name=op.f("ck_dispute_cases_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('asked', 'returned', 'open', 'recommended', 'refunded', 'rejected', "
            "'withdrawn')",
            name=op.f("ck_dispute_cases_status_known"),
        ),
        sa.CheckConstraint(
            "shared IN ('nothing', 'sms_code', 'pin', 'password', 'unsure')",
            name=op.f("ck_dispute_cases_shared_known"),
        ),
        sa.CheckConstraint(
            "claimed > 0 AND claimed <= amount", name=op.f("ck_dispute_cases_claim_within_amount")
        ),
        sa.CheckConstraint(
            "recommendation IS NULL OR recommendation IN ('refund', 'reject')",
            name=op.f("ck_dispute_cases_recommendation_known"),
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_dispute_cases_reference")),
    )
    op.create_index(
        "uq_dispute_cases_transaction", "dispute_cases", ["transaction_id"], unique=True
    )
    op.create_index("ix_dispute_cases_user", "dispute_cases", ["user_id", "created_at"])
    op.create_index("ix_dispute_cases_status_due", "dispute_cases", ["status", "due_at"])
    op.create_index("ix_dispute_cases_counterparty", "dispute_cases", ["counterparty_user_id"])
    op.create_index("ix_dispute_cases_merchant", "dispute_cases", ["merchant_id", "created_at"])
    # A chargeback takes part of a payment back: it can no longer be refunded.
    op.add_column(
        "merchant_payments",
        sa.Column("charged_back", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.drop_constraint(
        op.f("ck_merchant_payments_refunds_within_payment"), "merchant_payments", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_merchant_payments_refunds_within_payment"),
        "merchant_payments",
        "refunded >= 0 AND charged_back >= 0 AND refunded + charged_back <= amount "
        "AND refunded_fee <= fee AND refunded_discount <= discount",
    )
    op.create_table(
        "dispute_case_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("actor_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        _ts("created_at", nullable=False),
    )
    op.create_index(op.f("ix_dispute_case_events_case_id"), "dispute_case_events", ["case_id"])


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_merchant_payments_refunds_within_payment"), "merchant_payments", type_="check"
    )
    op.drop_column("merchant_payments", "charged_back")
    op.create_check_constraint(
        op.f("ck_merchant_payments_refunds_within_payment"),
        "merchant_payments",
        "refunded >= 0 AND refunded <= amount AND refunded_fee <= fee "
        "AND refunded_discount <= discount",
    )
    op.drop_table("dispute_case_events")
    op.drop_table("dispute_cases")
    op.execute(
        "DELETE FROM ledger_accounts WHERE owner_id IS NULL AND kind = 'equity' "
        "AND code = 'fraud_losses' AND posted = 0 AND pending_out = 0 AND pending_in = 0"
    )
