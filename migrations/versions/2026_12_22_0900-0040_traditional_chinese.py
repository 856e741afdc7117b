"""users may prefer Traditional Chinese (zh_Hant): their SMS and e-mails in Traditional

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_users_locale_known"), "users", type_="check")
    op.create_check_constraint(
        op.f("ck_users_locale_known"), "users", "locale IN ('zh_CN', 'zh_Hant', 'en')"
    )


def downgrade() -> None:
    op.execute("UPDATE users SET locale = 'zh_CN' WHERE locale = 'zh_Hant'")
    op.drop_constraint(op.f("ck_users_locale_known"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_locale_known"), "users", "locale IN ('zh_CN', 'en')")
