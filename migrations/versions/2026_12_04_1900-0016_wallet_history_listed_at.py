"""wallet history listed at the time money moved

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:00:00+00:00

History rows are ordered by ``listed_at``: when the row's money moved in the ledger (a withdrawal
when it settled, a top-up when it was confirmed) or, while nothing has moved, when it was asked
for. Ordered so, each row's balance after follows from the row before it, as on the statement
(issue 13, defect 8). Existing rows: settled withdrawals at their settlement, confirmed top-ups at
their confirmation, everything else at its creation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "wallet_transactions", sa.Column("listed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE wallet_transactions SET listed_at = created_at")
    op.execute(
        """
        UPDATE wallet_transactions t SET listed_at = e.created_at
          FROM wallet_withdrawal_events e
         WHERE t.kind = 'withdrawal' AND t.status IN ('completed', 'reversed')
           AND e.withdrawal_id = (t.details->>'withdrawal_id')::uuid AND e.status = 'settled'
        """
    )
    op.execute(
        """
        UPDATE wallet_transactions t SET listed_at = p.completed_at
          FROM wallet_topups p
         WHERE p.transaction_id = t.id AND p.completed_at IS NOT NULL AND t.status = 'completed'
        """
    )
    op.alter_column("wallet_transactions", "listed_at", nullable=False)
    op.create_index(
        "ix_wallet_transactions_user_listed",
        "wallet_transactions",
        ["user_id", "listed_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_wallet_transactions_user_listed", table_name="wallet_transactions")
    op.drop_column("wallet_transactions", "listed_at")
