"""agents act on a stuck top-up: re-query at the provider, credit by hand with a second approver

``support_topup_credits``: an agent's proposal to credit a stuck top-up by hand, decided by
another staff member (a supervisor or admin). One pending and one approved proposal per top-up
at most. (A re-query changes no table of its own: it is audited, and the provider's answer
settles the top-up as its callback would.)

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_topup_credits",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("topup_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("proposed_by", sa.UUID(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_support_topup_credits_amount_positive")),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_support_topup_credits_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_topup_credits")),
    )
    op.create_index(
        "ix_support_topup_credits_status",
        "support_topup_credits",
        ["status", "proposed_at"],
    )
    op.create_index(
        "ix_support_topup_credits_user", "support_topup_credits", ["user_id", "proposed_at"]
    )
    op.create_index(
        "uq_support_topup_credits_pending",
        "support_topup_credits",
        ["topup_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "uq_support_topup_credits_approved",
        "support_topup_credits",
        ["topup_id"],
        unique=True,
        postgresql_where=sa.text("status = 'approved'"),
    )


def downgrade() -> None:
    op.drop_index("uq_support_topup_credits_approved", table_name="support_topup_credits")
    op.drop_index("uq_support_topup_credits_pending", table_name="support_topup_credits")
    op.drop_index("ix_support_topup_credits_user", table_name="support_topup_credits")
    op.drop_index("ix_support_topup_credits_status", table_name="support_topup_credits")
    op.drop_table("support_topup_credits")
