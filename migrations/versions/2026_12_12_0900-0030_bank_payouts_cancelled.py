"""bank payouts: a queued instruction can be cancelled

An instruction whose withdrawal or settlement was finished another way before it went into a
file (the demo's history, an operator's action) must never be sent: it is marked ``cancelled``
when the next file is made.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "('queued', 'batched', 'released', 'accepted', 'settled', 'rejected', 'returned')"
NEW = (
    "('queued', 'batched', 'released', 'accepted', 'settled', 'rejected', 'returned', 'cancelled')"
)


def upgrade() -> None:
    op.drop_constraint(op.f("ck_bank_payouts_status_known"), "bank_payouts", type_="check")
    op.create_check_constraint(
        op.f("ck_bank_payouts_status_known"), "bank_payouts", f"status IN {NEW}"
    )


def downgrade() -> None:
    op.execute("UPDATE bank_payouts SET status = 'rejected' WHERE status = 'cancelled'")
    op.drop_constraint(op.f("ck_bank_payouts_status_known"), "bank_payouts", type_="check")
    op.create_check_constraint(
        op.f("ck_bank_payouts_status_known"), "bank_payouts", f"status IN {OLD}"
    )
