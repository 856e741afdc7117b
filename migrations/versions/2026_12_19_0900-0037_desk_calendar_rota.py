"""one desk calendar and agents' shifts (rota); call-back slots booked from the chat

``support_agent_shifts``: weekly shifts per agent (a shift ending at or before its start runs
over midnight). ``support_callback_requests`` gains the booked slot and the chat it came from;
a visitor's booking has no user (one open request per visitor's number).

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_agent_shifts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts_min", sa.SmallInteger(), nullable=False),
        sa.Column("ends_min", sa.SmallInteger(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "weekday BETWEEN 1 AND 7", name=op.f("ck_support_agent_shifts_weekday_known")
        ),
        sa.CheckConstraint(
            "starts_min BETWEEN 0 AND 1439", name=op.f("ck_support_agent_shifts_starts_in_day")
        ),
        sa.CheckConstraint(
            "ends_min BETWEEN 1 AND 1440", name=op.f("ck_support_agent_shifts_ends_in_day")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_support_agent_shifts_agent_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_agent_shifts")),
    )
    op.create_index(
        "ix_support_agent_shifts_agent_id_weekday",
        "support_agent_shifts",
        ["agent_id", "weekday"],
        unique=False,
    )
    op.add_column(
        "support_callback_requests",
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "support_callback_requests", sa.Column("conversation_id", sa.UUID(), nullable=True)
    )
    op.alter_column("support_callback_requests", "user_id", nullable=True)
    op.create_index(
        "ix_support_callback_requests_slot_at",
        "support_callback_requests",
        ["slot_at"],
        unique=False,
    )
    op.create_index(
        "uq_support_callback_requests_open_phone",
        "support_callback_requests",
        ["phone"],
        unique=True,
        postgresql_where=sa.text("status = 'new' AND user_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_support_callback_requests_open_phone",
        table_name="support_callback_requests",
        postgresql_where=sa.text("status = 'new' AND user_id IS NULL"),
    )
    op.drop_index("ix_support_callback_requests_slot_at", table_name="support_callback_requests")
    op.execute("DELETE FROM support_callback_requests WHERE user_id IS NULL")
    op.alter_column("support_callback_requests", "user_id", nullable=False)
    op.drop_column("support_callback_requests", "conversation_id")
    op.drop_column("support_callback_requests", "slot_at")
    op.drop_index("ix_support_agent_shifts_agent_id_weekday", table_name="support_agent_shifts")
    op.drop_table("support_agent_shifts")
