"""Help-center use cases: reading published articles, votes, and staff editing.

Staff checks happen at the edge (pages and API know the caller); every write here takes the
acting user's id and records it with the time in ``help_article_events``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.support.helpcenter import repository as repo
from qianbao.support.helpcenter.errors import ArticleInvalid, ArticleNotFound, SlugTaken
from qianbao.support.helpcenter.models import HelpArticle, HelpArticleEvent, HelpCategory
from qianbao.support.helpcenter.seed import ensure_default_content

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_BODY = 20_000
MAX_KEYWORDS = 1_000
RESERVED_SLUGS = frozenset({"search", "new"})  # page addresses under /help and /console/help
_synced = False  # the shipped articles were checked once in this process
_prepare_lock = asyncio.Lock()


async def prepare(s: Any) -> None:
    """Make sure the shipped articles are there: once per process (missing slugs, and newer
    texts of articles staff never touched), and again whenever the tables are empty (a
    brand-new database)."""
    global _synced
    if _synced and await repo.category_count(s) > 0:
        return
    async with _prepare_lock:  # the start-up warm-up and a first request at the same time
        if not _synced or await repo.category_count(s) == 0:
            await ensure_default_content(s)
            _synced = True


@dataclass(frozen=True)
class Section:
    category: HelpCategory
    articles: list[HelpArticle]


async def sections(s: Any, *, published_only: bool = True) -> list[Section]:
    """Categories in order, each with its articles in order (empty categories left out)."""
    await prepare(s)
    by_category: dict[int, list[HelpArticle]] = {}
    for article in await repo.articles(s, published_only=published_only):
        by_category.setdefault(article.category_id, []).append(article)
    return [
        Section(category=c, articles=by_category[c.id])
        for c in await repo.categories(s)
        if by_category.get(c.id)
    ]


async def categories(s: Any) -> list[HelpCategory]:
    await prepare(s)
    return await repo.categories(s)


# What people ask most (the seeds' questions), shown as "popular" until votes say otherwise.
FEATURED = (
    "topup-not-arrived",
    "forgot-login-password",
    "withdrawal-arrival-time",
    "unauthorized-transaction",
    "payment-failed",
    "pin-locked",
)


async def popular(s: Any, limit: int = 5) -> list[HelpArticle]:
    """The most helpful articles by votes (yes minus no); ties in the featured order."""
    await prepare(s)
    rank = {slug: i for i, slug in enumerate(FEATURED)}
    articles = await repo.articles(s, published_only=True)
    articles.sort(
        key=lambda a: (-(a.helpful_yes - a.helpful_no), rank.get(a.slug, len(rank)), a.position)
    )
    return articles[:limit]


async def published(s: Any, slug: str) -> HelpArticle:
    """A published article; drafts and unknown slugs are the same 'not found'."""
    await prepare(s)
    article = await repo.article_by_slug(s, slug[:80])
    if article is None or article.status != "published":
        raise ArticleNotFound()
    return article


async def any_article(s: Any, slug: str) -> HelpArticle:
    """Any article, draft included (staff only: the caller checks)."""
    article = await repo.article_by_slug(s, slug[:80])
    if article is None:
        raise ArticleNotFound()
    return article


async def related(s: Any, article: HelpArticle, limit: int = 3) -> list[HelpArticle]:
    return await repo.related(s, article, limit)


async def category_of(s: Any, article: HelpArticle) -> HelpCategory:
    found = await s.get(HelpCategory, article.category_id)
    assert found is not None
    return found


async def history(s: Any, article: HelpArticle) -> list[HelpArticleEvent]:
    return await repo.events(s, article.id)


# -- votes -----------------------------------------------------------------------------------
def voter_for_user(user_id: uuid.UUID) -> str:
    return f"u:{user_id}"


def voter_for_cookie(token: str) -> str:
    import hashlib

    return "c:" + hashlib.sha256(token.encode()).hexdigest()[:64]


async def vote(s: Any, slug: str, *, voter: str, helpful: bool) -> HelpArticle:
    """One vote per voter and article; voting again replaces the earlier vote. The article's
    counters move in the same transaction."""
    article = await published(s, slug)
    existing = await repo.vote_of(s, article.id, voter)
    if existing is None:
        if await repo.insert_vote(s, article.id, voter, helpful):
            await repo.bump_counts(s, article.id, int(helpful), int(not helpful))
        else:  # a concurrent first vote of the same voter won: treat ours as a change
            existing = await repo.vote_of(s, article.id, voter)
    if existing is not None and existing.helpful != helpful:
        existing.helpful = helpful
        existing.updated_at = clock_of(s).now()
        delta = 1 if helpful else -1
        await repo.bump_counts(s, article.id, delta, -delta)
    await s.flush()
    await s.refresh(article)
    return article


async def vote_of(s: Any, article: HelpArticle, voter: str | None) -> bool | None:
    """This voter's vote on the article (None: not voted)."""
    if voter is None:
        return None
    found = await repo.vote_of(s, article.id, voter, lock=False)
    return found.helpful if found is not None else None


# -- staff editing ---------------------------------------------------------------------------
@dataclass
class ArticleDraft:
    category: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    keywords_zh: str = ""
    keywords_en: str = ""
    position: int = 0


def _check(draft: ArticleDraft) -> None:
    for value, name in (
        (draft.title_zh, N_("the Chinese title is missing or too long")),
        (draft.title_en, N_("the English title is missing or too long")),
    ):
        if not value.strip() or len(value) > 200:
            raise ArticleInvalid(problem=name)
    for value, name in (
        (draft.body_zh, N_("the Chinese text is missing or too long")),
        (draft.body_en, N_("the English text is missing or too long")),
    ):
        if not value.strip() or len(value) > MAX_BODY:
            raise ArticleInvalid(problem=name)
    if len(draft.keywords_zh) > MAX_KEYWORDS or len(draft.keywords_en) > MAX_KEYWORDS:
        raise ArticleInvalid(problem=N_("the keywords are too long"))
    if not 0 <= draft.position <= 10_000:
        raise ArticleInvalid(problem=N_("the position must be between 0 and 10000"))


async def _category_id(s: Any, slug: str) -> int:
    category = await repo.category_by_slug(s, slug)
    if category is None:
        raise ArticleInvalid(problem=N_("choose one of the categories"))
    return category.id


def _apply(
    article: HelpArticle, draft: ArticleDraft, category_id: int, actor: uuid.UUID, now: datetime
) -> None:
    article.category_id = category_id
    article.title_zh = draft.title_zh.strip()
    article.title_en = draft.title_en.strip()
    article.body_zh = draft.body_zh.replace("\r\n", "\n")
    article.body_en = draft.body_en.replace("\r\n", "\n")
    article.keywords_zh = draft.keywords_zh.strip()
    article.keywords_en = draft.keywords_en.strip()
    article.position = draft.position
    article.updated_at = now
    article.updated_by = actor


async def create(s: Any, *, slug: str, draft: ArticleDraft, actor: uuid.UUID) -> HelpArticle:
    """A new article, as a draft."""
    await prepare(s)
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug) or len(slug) > 80 or slug in RESERVED_SLUGS:
        raise ArticleInvalid(
            problem=N_("the address (slug) uses lower-case letters, digits and dashes only")
        )
    _check(draft)
    category_id = await _category_id(s, draft.category)
    if await repo.article_by_slug(s, slug) is not None:
        raise SlugTaken()
    now = clock_of(s).now()
    article = HelpArticle(slug=slug, status="draft", created_at=now)
    _apply(article, draft, category_id, actor, now)
    s.add(article)
    await s.flush()
    await repo.add_events(s, [article.id], "created", actor)
    return article


async def update(s: Any, slug: str, *, draft: ArticleDraft, actor: uuid.UUID) -> HelpArticle:
    article = await repo.article_by_slug(s, slug[:80], for_update=True)
    if article is None:
        raise ArticleNotFound()
    _check(draft)
    _apply(article, draft, await _category_id(s, draft.category), actor, clock_of(s).now())
    await s.flush()
    await repo.add_events(s, [article.id], "updated", actor)
    return article


async def set_published(s: Any, slug: str, *, published: bool, actor: uuid.UUID) -> HelpArticle:
    article = await repo.article_by_slug(s, slug[:80], for_update=True)
    if article is None:
        raise ArticleNotFound()
    status = "published" if published else "draft"
    if article.status != status:
        article.status = status
        article.updated_at = clock_of(s).now()
        article.updated_by = actor
        if published:
            article.published_at = article.updated_at
        await s.flush()
        await repo.add_events(s, [article.id], "published" if published else "unpublished", actor)
    return article


async def all_articles(s: Any) -> list[HelpArticle]:
    """Every article, drafts included (staff only: the caller checks)."""
    await prepare(s)
    return await repo.articles(s, published_only=False)
