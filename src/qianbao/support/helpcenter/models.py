"""Help-center tables: categories, articles (both languages in one row, draft or published),
one "was this helpful?" vote per voter and article, and the log of who changed what."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.hant import zh_text
from qianbao.kernel.ids import uuid7

STATUSES = ("draft", "published")


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class HelpCategory(Base):
    __tablename__ = "help_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = _now()


class HelpArticle(Base):
    __tablename__ = "help_articles"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("help_categories.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_zh: Mapped[str] = mapped_column(Text)  # Markdown
    body_en: Mapped[str] = mapped_column(Text)  # Markdown
    keywords_zh: Mapped[str] = mapped_column(Text, server_default="")  # comma-separated
    keywords_en: Mapped[str] = mapped_column(Text, server_default="")
    helpful_yes: Mapped[int] = mapped_column(Integer, server_default="0")
    helpful_no: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # None: the seed
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published')", name="status_known"),
        CheckConstraint("helpful_yes >= 0 AND helpful_no >= 0", name="votes_not_negative"),
    )

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else zh_text(self.title_zh, locale)

    def body(self, locale: str) -> str:
        return self.body_en if locale == "en" else zh_text(self.body_zh, locale)


class HelpVote(Base):
    """One vote per voter and article; voting again changes the vote. ``voter`` is
    ``u:<user id>`` for a signed-in user or ``c:<sha256 of the anonymous cookie>``."""

    __tablename__ = "help_votes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_articles.id", ondelete="CASCADE")
    )
    voter: Mapped[str] = mapped_column(String(80))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (UniqueConstraint("article_id", "voter"),)


class HelpArticleEvent(Base):
    """Who changed an article and when: created, updated, published, unpublished, seeded."""

    __tablename__ = "help_article_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_articles.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _now()
