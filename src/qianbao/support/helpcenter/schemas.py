"""JSON shapes of the help-center API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Locale = Literal["zh_CN", "zh_Hant", "en"]


class CategoryOut(BaseModel):
    slug: str
    name: str


class HitOut(BaseModel):
    slug: str
    title: str
    category: str
    url: str
    score: float
    snippet: str


class SearchOut(BaseModel):
    query: str
    locale: Locale
    hits: list[HitOut]


class ArticleOut(BaseModel):
    slug: str
    category: str
    locale: Locale
    title: str
    body_markdown: str
    body_html: str = Field(description="The body rendered and sanitized")
    helpful_yes: int
    helpful_no: int
    updated_at: datetime


class VoteIn(BaseModel):
    helpful: bool


class VoteOut(BaseModel):
    helpful_yes: int
    helpful_no: int


class ArticleIn(BaseModel):
    """Both languages are required; a new article starts as a draft."""

    category: str = Field(max_length=64)
    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    body_zh: str = Field(min_length=1, max_length=20_000, description="Markdown")
    body_en: str = Field(min_length=1, max_length=20_000, description="Markdown")
    keywords_zh: str = Field(default="", max_length=1_000, description="comma-separated")
    keywords_en: str = Field(default="", max_length=1_000, description="comma-separated")
    position: int = Field(default=0, ge=0, le=10_000)


class ArticleCreate(ArticleIn):
    slug: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class StaffArticleOut(ArticleIn):
    slug: str
    status: Literal["draft", "published"]
    updated_at: datetime
    updated_by: str | None
    published_at: datetime | None
    helpful_yes: int
    helpful_no: int
