"""disputes: the screenshots a customer gives with a claim

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispute_case_files",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "case_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("dispute_cases.id"),
            nullable=False,
        ),
        sa.Column("filename", sa.String(120), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dispute_case_files_case_id", "dispute_case_files", ["case_id"])


def downgrade() -> None:
    op.drop_table("dispute_case_files")
