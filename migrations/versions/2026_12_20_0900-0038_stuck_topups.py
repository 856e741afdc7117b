"""agents act on a stuck top-up: re-query at the provider, credit by hand with a second approver

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
