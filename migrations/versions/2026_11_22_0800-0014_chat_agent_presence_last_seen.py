"""chat agent presence: last seen

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 08:00:00+00:00

An online agent counts as present only while a console page (or an API client) has been seen
recently; the worker sets agents gone for longer offline and puts their chats back in the queue.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chat_agents", sa.Column("last_seen_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE chat_agents SET last_seen_at = updated_at WHERE online")
    op.create_index(
        "ix_chat_agents_online_last_seen",
        "chat_agents",
        ["last_seen_at"],
        postgresql_where=sa.text("online"),
    )


def downgrade() -> None:
    op.drop_index("ix_chat_agents_online_last_seen", table_name="chat_agents")
    op.drop_column("chat_agents", "last_seen_at")
