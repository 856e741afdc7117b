"""history indexes: a user's history read from one covering index

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 09:00:00+00:00

The history page lists a user's rows newest first with filters (kind, direction, status,
currency, an amount range) and sums the whole months those rows span. A busy user's rows are
spread over the table (one row in a page of other people's), so every row the old index
``(user_id, listed_at, id)`` pointed at cost a table page: a month of a user with 100,000 rows
a year is ~9,000 pages, 20–30 ms, before the filters drop most of them. The history index keeps
the same key and carries the columns the filters and the month totals read, so the totals are
an index-only scan (~120 pages for that month) and the filters are checked in the index.

It replaces ``ix_wallet_transactions_user_listed`` (same key, nothing else used it). On a big
table, an operator can build it beforehand without blocking writes (``CREATE INDEX
CONCURRENTLY`` with the definition below): the upgrade then keeps it (``IF NOT EXISTS``) and only
drops the old index. See docs/performance.md, "History at scale".
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = ["kind", "direction", "status", "currency", "amount"]


def upgrade() -> None:
    op.create_index(
        "ix_wallet_transactions_user_history",
        "wallet_transactions",
        ["user_id", "listed_at", "id"],
        postgresql_include=COVERED,
        if_not_exists=True,
    )
    op.drop_index("ix_wallet_transactions_user_listed", table_name="wallet_transactions")


def downgrade() -> None:
    op.create_index(
        "ix_wallet_transactions_user_listed",
        "wallet_transactions",
        ["user_id", "listed_at", "id"],
    )
    op.drop_index("ix_wallet_transactions_user_history", table_name="wallet_transactions")
