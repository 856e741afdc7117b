"""spending insights and budgets (B13)

- ``wallet_budgets``: a user's monthly budget per spending category (or ``total``) and currency;
- ``wallet_budget_alerts``: an alert at 80 % and at 100 % of a budget, once per budget, month
  and level (the unique index keeps two racing checks to one alert).

The insights themselves read ``wallet_transactions`` through its history index; nothing new is
stored for them.

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = (
    "('total', 'food', 'shopping', 'transport', 'bills', 'leisure', 'health', 'education', "
    "'other', 'transfers', 'fees')"
)


def upgrade() -> None:
    op.create_table(
        "wallet_budgets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_wallet_budgets_amount_positive")),
        sa.CheckConstraint(
            f"category IN {CATEGORIES}", name=op.f("ck_wallet_budgets_category_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_budgets")),
    )
    op.create_index(
        "uq_wallet_budgets_user_currency_category",
        "wallet_budgets",
        ["user_id", "currency", "category"],
        unique=True,
    )
    op.create_table(
        "wallet_budget_alerts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.Column("budget", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("level IN (80, 100)", name=op.f("ck_wallet_budget_alerts_level_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_budget_alerts")),
    )
    op.create_index(
        "uq_wallet_budget_alerts_once",
        "wallet_budget_alerts",
        ["user_id", "currency", "category", "month", "level"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_wallet_budget_alerts_once", table_name="wallet_budget_alerts")
    op.drop_table("wallet_budget_alerts")
    op.drop_index("uq_wallet_budgets_user_currency_category", table_name="wallet_budgets")
    op.drop_table("wallet_budgets")
