"""WeChat and Telegram channels (E8): linked accounts, one-time link codes, external conversations

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
