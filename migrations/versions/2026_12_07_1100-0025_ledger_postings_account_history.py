"""ledger: an account's postings read from one covering index

Revision ID: 0025
Revises: 0024

A statement and a balance at a moment walk an account's postings newest first
(``ORDER BY id DESC``) and keep those before a time. With ``(account_id, id)`` every posting
looked at cost a table page to read its ``created_at``: at 10 million postings a busy account's
monthly statement took seconds (docs/performance.md, "History at scale"). The new index has the
same key and carries ``created_at`` and ``balance_after``, so the time is tested in the index and
the balance at a moment is an index-only read. It replaces ``ix_ledger_postings_account_id_id``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ledger_postings_account_history",
        "ledger_postings",
        ["account_id", "id"],
        postgresql_include=["created_at", "balance_after"],
        if_not_exists=True,
    )
    op.drop_index("ix_ledger_postings_account_id_id", table_name="ledger_postings")


def downgrade() -> None:
    op.create_index(
        "ix_ledger_postings_account_id_id", "ledger_postings", ["account_id", "id"], unique=False
    )
    op.drop_index("ix_ledger_postings_account_history", table_name="ledger_postings")
