"""one desk calendar and agents' shifts (rota); call-back slots booked from the chat

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
