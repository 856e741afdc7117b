"""support lookup indexes

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22 08:05:00+00:00

A customer's or a visitor's conversations (history, the last closed one for its transcript and
rating), and conversations and tickets by creation time (the reports), without scanning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_chat_conversations_user_closed",
        "chat_conversations",
        ["user_id", "closed_at"],
        postgresql_where=sa.text("user_id IS NOT NULL"),
    )
    op.create_index(
        "ix_chat_conversations_visitor_closed",
        "chat_conversations",
        ["visitor_hash", "closed_at"],
        postgresql_where=sa.text("visitor_hash IS NOT NULL"),
    )
    op.create_index("ix_chat_conversations_created_at", "chat_conversations", ["created_at"])
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_index("ix_chat_conversations_created_at", table_name="chat_conversations")
    op.drop_index("ix_chat_conversations_visitor_closed", table_name="chat_conversations")
    op.drop_index("ix_chat_conversations_user_closed", table_name="chat_conversations")
