"""identity verification (A8)

- ``kyc_identities``: tier 1, one per user: the real name, the resident ID number sealed with
  its unique keyed fingerprint (one number, one account) and masked form, birthday and sex;
- ``kyc_applications``: tier 2 applications (draft → submitted → approved | rejected |
  resubmit), at most one open per user, the queue read oldest first;
- ``kyc_documents``: the three photos of an application (sealed JPEG without metadata).

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "('id_front', 'id_back', 'selfie')"
STATUSES = "('draft', 'submitted', 'resubmit', 'approved', 'rejected')"


def upgrade() -> None:
    op.create_table(
        "kyc_identities",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("real_name", sa.String(length=100), nullable=False),
        sa.Column("id_number_sealed", sa.Text(), nullable=False),
        sa.Column("id_fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("id_masked", sa.String(length=18), nullable=False),
        sa.Column("birthday", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_kyc_identities_sex_known")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_kyc_identities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_kyc_identities")),
        sa.UniqueConstraint("id_fingerprint", name=op.f("uq_kyc_identities_id_fingerprint")),
    )
    op.create_table(
        "kyc_applications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="draft", nullable=False),
        sa.Column("submissions", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("reason_code", sa.String(length=24), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("resubmit_kind", sa.String(length=12), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f("ck_kyc_applications_status_known")),
        sa.CheckConstraint(
            f"resubmit_kind IS NULL OR resubmit_kind IN {KINDS}",
            name=op.f("ck_kyc_applications_resubmit_kind_known"),
        ),
        sa.CheckConstraint(
            "status <> 'resubmit' OR resubmit_kind IS NOT NULL",
            name=op.f("ck_kyc_applications_resubmit_names_document"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'rejected', 'resubmit') OR decided_at IS NOT NULL",
            name=op.f("ck_kyc_applications_decided_when_decided"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_kyc_applications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_applications")),
    )
    op.create_index("ix_kyc_applications_user", "kyc_applications", ["user_id", "created_at"])
    op.create_index(
        "uq_kyc_applications_open",
        "kyc_applications",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('draft', 'submitted', 'resubmit')"),
    )
    op.create_index(
        "ix_kyc_applications_queue",
        "kyc_applications",
        ["submitted_at"],
        postgresql_where=sa.text("status = 'submitted'"),
    )
    op.create_table(
        "kyc_documents",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("image_sealed", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS}", name=op.f("ck_kyc_documents_kind_known")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["kyc_applications.id"],
            name=op.f("fk_kyc_documents_application_id_kyc_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_documents")),
        sa.UniqueConstraint(
            "application_id", "kind", name=op.f("uq_kyc_documents_application_id_kind")
        ),
    )


def downgrade() -> None:
    op.drop_table("kyc_documents")
    op.drop_index("ix_kyc_applications_queue", table_name="kyc_applications")
    op.drop_index("uq_kyc_applications_open", table_name="kyc_applications")
    op.drop_index("ix_kyc_applications_user", table_name="kyc_applications")
    op.drop_table("kyc_applications")
    op.drop_table("kyc_identities")
