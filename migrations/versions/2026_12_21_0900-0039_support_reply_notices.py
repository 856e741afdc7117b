"""notification preferences for customer service's answers (SMS / e-mail when an agent
replies in the chat or on a ticket)

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("sms_support", "email_support"):
        op.add_column(
            "notification_preferences",
            sa.Column(column, sa.Boolean(), server_default=sa.text("true"), nullable=False),
        )


def downgrade() -> None:
    op.drop_column("notification_preferences", "email_support")
    op.drop_column("notification_preferences", "sms_support")
