"""the finance console: four-eyes changes of money settings and the values they approve

Revision ID: 0029
Revises: 0028

Operators change the money settings in the finance console (F2) by four-eyes: a change is
proposed (``finance_changes``: the value before and after, the reason, who and when) and applied
once another operator approves it. At most one change per setting is pending (a partial unique
index). What an approval writes overrides the environment's settings: fee plans
(``finance_fee_plans``, minor units), currencies' settings (``finance_currencies``) and the
business calendar per year (``finance_calendar_years``). Limits and receiving bank accounts keep
their own tables (``risk_limits``, ``bank_receiving_accounts``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_changes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("proposed_by", sa.UUID(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_finance_changes_status_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('fee', 'limit', 'currency', 'account', 'calendar')",
            name=op.f("ck_finance_changes_kind_known"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)",
            name=op.f("ck_finance_changes_decided_when_not_pending"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_changes")),
    )
    op.create_index(
        "uq_finance_changes_one_pending",
        "finance_changes",
        ["target"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_finance_changes_proposed_at", "finance_changes", ["proposed_at"])
    op.create_table(
        "finance_fee_plans",
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("fixed", sa.BigInteger(), nullable=False),
        sa.Column("percent", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("minimum", sa.BigInteger(), nullable=False),
        sa.Column("maximum", sa.BigInteger(), nullable=True),
        sa.Column("change_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fixed >= 0 AND minimum >= 0 AND percent >= 0 AND percent <= 100 "
            "AND (maximum IS NULL OR maximum >= minimum)",
            name=op.f("ck_finance_fee_plans_amounts_sane"),
        ),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_finance_fee_plans")),
    )
    op.create_table(
        "finance_currencies",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("review_above", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "review_above >= 0", name=op.f("ck_finance_currencies_review_above_not_negative")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_finance_currencies")),
    )
    op.create_table(
        "finance_calendar_years",
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("holidays", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("workdays", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("change_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_finance_calendar_years")),
    )


def downgrade() -> None:
    op.drop_table("finance_calendar_years")
    op.drop_table("finance_currencies")
    op.drop_table("finance_fee_plans")
    op.drop_index("ix_finance_changes_proposed_at", table_name="finance_changes")
    op.drop_index("uq_finance_changes_one_pending", table_name="finance_changes")
    op.drop_table("finance_changes")
