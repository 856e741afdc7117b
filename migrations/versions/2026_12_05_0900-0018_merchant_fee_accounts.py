"""Merchant fee revenue spread over sixteen accounts per currency.

A busy shop's payments credit the merchant discount to one of sixteen ``fee_revenue`` accounts
(picked by the payment's id), so that they do not queue on one row: the chart's own
``fee_revenue:default`` is the first, ``fee_revenue:merchant-1`` … ``merchant-15`` are added here.
(The merchant's own balance is spread the same way over accounts opened with the merchant.)

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARDS = 16


def upgrade() -> None:
    for shard in range(1, SHARDS):
        op.execute(
            "INSERT INTO ledger_accounts (currency, kind, code, no_negative) "
            f"SELECT c.code, 'fee_revenue', 'merchant-{shard}', true FROM ledger_currencies c "
            "WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.owner_id IS NULL "
            f"AND a.kind = 'fee_revenue' AND a.currency = c.code AND a.code = 'merchant-{shard}') "
            "ORDER BY c.code"
        )


def downgrade() -> None:
    # Only accounts that never moved money can go (the ledger keeps every posting).
    op.execute(
        "DELETE FROM ledger_accounts WHERE owner_id IS NULL AND kind = 'fee_revenue' "
        "AND code LIKE 'merchant-%' AND posted = 0 AND pending_out = 0 AND pending_in = 0 "
        "AND NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.account_id = ledger_accounts.id)"
    )
