"""Identity verification (A8): tier 1 and tier 2 applications and their documents.

- ``kyc_identities``: a user's checked identity (tier 1) — the real name, the resident ID number
  sealed (AES-GCM) with a keyed fingerprint that is unique (one ID number, one account), its
  masked form, and the birthday and sex the number encodes;
- ``kyc_applications``: a tier 2 application, ``draft`` while its photos are uploaded, then
  ``submitted`` → ``approved`` | ``rejected`` | ``resubmit`` (a new photo of one document
  asked for; the user replaces it and submits again). At most one open (draft, submitted or
  resubmit) application per user;
- ``kyc_documents``: the application's three photos (ID card front and back, a selfie), each
  re-encoded without metadata and sealed; one row per kind, replaced in place.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7

DOCUMENT_KINDS = ("id_front", "id_back", "selfie")
STATUSES = ("draft", "submitted", "resubmit", "approved", "rejected")
OPEN_STATUSES = ("draft", "submitted", "resubmit")


class KycIdentity(Base):
    __tablename__ = "kyc_identities"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    real_name: Mapped[str] = mapped_column(String(100))
    id_number_sealed: Mapped[str] = mapped_column(Text)
    id_fingerprint: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    birthday: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        server_default=func.now(),
    )

    __table_args__ = (CheckConstraint("sex IN ('M', 'F')", name="sex_known"),)


class KycApplication(Base):
    __tablename__ = "kyc_applications"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), server_default="draft")
    submissions: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reason_code: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    resubmit_kind: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        server_default=func.now(),
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        server_default=func.now(),
    )

    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint(
            f"resubmit_kind IS NULL OR resubmit_kind IN {DOCUMENT_KINDS!r}",
            name="resubmit_kind_known",
        ),
        CheckConstraint(
            "status <> 'resubmit' OR resubmit_kind IS NOT NULL", name="resubmit_names_document"
        ),
        CheckConstraint(
            "status NOT IN ('approved', 'rejected', 'resubmit') OR decided_at IS NOT NULL",
            name="decided_when_decided",
        ),
        Index("ix_kyc_applications_user", "user_id", "created_at"),
        Index(
            "uq_kyc_applications_open",
            "user_id",
            unique=True,
            postgresql_where=text("status IN ('draft', 'submitted', 'resubmit')"),
        ),
        Index(
            "ix_kyc_applications_queue",
            "submitted_at",
            postgresql_where=text("status = 'submitted'"),
        ),
    )


class KycDocument(Base):
    __tablename__ = "kyc_documents"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("kyc_applications.id"))
    kind: Mapped[str] = mapped_column(String(12))
    image_sealed: Mapped[str] = mapped_column(Text, deferred=True)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"kind IN {DOCUMENT_KINDS!r}", name="kind_known"),
        UniqueConstraint("application_id", "kind"),
    )
