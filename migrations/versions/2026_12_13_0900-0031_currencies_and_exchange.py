"""several currencies and exchange (B12)

- ``fx_rates``: the exchange rates the operator set in the finance console (four-eyes);
- ``fx_quotes``: a customer's quote (rate, spread, both amounts, expiry), used once;
- wallet rows of kind ``exchange`` (two per entry: one per currency, so the unique index is
  per entry and wallet); finance changes of kind ``rate``;
- the limits table gets the ``exchange`` channel, and rows for the other currencies derived from
  the CNY rows (rounded; the operator changes them in the console).

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "('transfer', 'topup', 'withdrawal', 'payment', 'refund', 'fee', 'adjustment')"
NEW_KINDS = (
    "('transfer', 'topup', 'withdrawal', 'payment', 'refund', 'fee', 'adjustment', 'exchange')"
)
OLD_CHANGES = "('fee', 'limit', 'currency', 'account', 'calendar')"
NEW_CHANGES = "('fee', 'limit', 'currency', 'account', 'calendar', 'rate')"

# CNY minor units → another currency's, rounded to a round amount (multiplier, divisor, step).
DERIVED = {
    "USD": ("1", "7", 10000),
    "EUR": ("1", "8", 10000),
    "HKD": ("11", "10", 10000),
    "JPY": ("20", "100", 1000),
    "USDT": ("10000", "7", 100000000),
}
# The exchange channel in CNY: as transfers.
EXCHANGE_CNY = (500_000, 1_000_000, 20, 5_000_000, 200)


def upgrade() -> None:
    op.drop_constraint(
        op.f("ck_wallet_transactions_kind_known"), "wallet_transactions", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_wallet_transactions_kind_known"), "wallet_transactions", f"kind IN {NEW_KINDS}"
    )
    op.drop_constraint(op.f("ck_finance_changes_kind_known"), "finance_changes", type_="check")
    op.create_check_constraint(
        op.f("ck_finance_changes_kind_known"), "finance_changes", f"kind IN {NEW_CHANGES}"
    )
    # One row per entry and wallet: an exchange writes two rows of one user, one per currency.
    op.drop_index("uq_wallet_transactions_entry_user", table_name="wallet_transactions")
    op.create_index(
        "uq_wallet_transactions_entry_user",
        "wallet_transactions",
        ["entry_id", "user_id", "account_id"],
        unique=True,
    )
    op.create_table(
        "fx_rates",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("per_cny", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("spread", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("change_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("per_cny > 0", name=op.f("ck_fx_rates_rate_positive")),
        sa.CheckConstraint("spread >= 0 AND spread <= 10", name=op.f("ck_fx_rates_spread_range")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_fx_rates")),
    )
    op.create_table(
        "fx_quotes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("sell_currency", sa.String(length=8), nullable=False),
        sa.Column("sell_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("buy_currency", sa.String(length=8), nullable=False),
        sa.Column("buy_amount", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=30, scale=12), nullable=False),
        sa.Column("spread", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("entry_id", sa.UUID(), nullable=True),
        sa.Column("transaction_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'used')", name=op.f("ck_fx_quotes_status_known")),
        sa.CheckConstraint(
            "sell_amount > 0 AND buy_amount > 0 AND fee >= 0 AND fee < sell_amount",
            name=op.f("ck_fx_quotes_amounts_positive"),
        ),
        sa.CheckConstraint(
            "sell_currency <> buy_currency", name=op.f("ck_fx_quotes_two_currencies")
        ),
        sa.CheckConstraint(
            "(status = 'used') = (used_at IS NOT NULL)", name=op.f("ck_fx_quotes_used_when_used")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_quotes")),
    )
    op.create_index("ix_fx_quotes_user_created", "fx_quotes", ["user_id", "created_at"])
    single, daily, daily_n, monthly, monthly_n = EXCHANGE_CNY
    for tier, factor in ((0, 1), (1, 4), (2, 10)):
        op.execute(
            "INSERT INTO risk_limits (tier, channel, currency, single_max, daily_max, "
            "daily_count, monthly_max, monthly_count) VALUES "
            f"({tier}, 'exchange', 'CNY', {single * factor}, {daily * factor}, "
            f"{daily_n * factor}, {monthly * factor}, {monthly_n * factor}) "
            "ON CONFLICT DO NOTHING"
        )

    def derived(column: str, mul: str, div: str, step: int) -> str:
        return f"GREATEST({step}, round({column}::numeric * {mul} / {div} / {step}) * {step})"

    for code, (mul, div, step) in DERIVED.items():
        op.execute(
            "INSERT INTO risk_limits (tier, channel, currency, single_max, daily_max, "
            "daily_count, monthly_max, monthly_count) "
            f"SELECT tier, channel, '{code}', {derived('single_max', mul, div, step)}, "
            f"{derived('daily_max', mul, div, step)}, daily_count, "
            f"{derived('monthly_max', mul, div, step)}, monthly_count "
            "FROM risk_limits WHERE currency = 'CNY' ON CONFLICT DO NOTHING"
        )


def downgrade() -> None:
    op.execute("DELETE FROM risk_limits WHERE channel = 'exchange' OR currency <> 'CNY'")
    op.drop_index("ix_fx_quotes_user_created", table_name="fx_quotes")
    op.drop_table("fx_quotes")
    op.drop_table("fx_rates")
    op.execute("DELETE FROM finance_changes WHERE kind = 'rate'")
    op.execute("DELETE FROM wallet_transactions WHERE kind = 'exchange'")
    op.drop_index("uq_wallet_transactions_entry_user", table_name="wallet_transactions")
    op.create_index(
        "uq_wallet_transactions_entry_user",
        "wallet_transactions",
        ["entry_id", "user_id"],
        unique=True,
    )
    op.drop_constraint(op.f("ck_finance_changes_kind_known"), "finance_changes", type_="check")
    op.create_check_constraint(
        op.f("ck_finance_changes_kind_known"), "finance_changes", f"kind IN {OLD_CHANGES}"
    )
    op.drop_constraint(
        op.f("ck_wallet_transactions_kind_known"), "wallet_transactions", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_wallet_transactions_kind_known"), "wallet_transactions", f"kind IN {OLD_KINDS}"
    )
