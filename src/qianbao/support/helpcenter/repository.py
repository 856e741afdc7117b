"""All SQL of the help center."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from qianbao.support.helpcenter.models import (
    HelpArticle,
    HelpArticleEvent,
    HelpCategory,
    HelpVote,
)


async def categories(s: Any) -> list[HelpCategory]:
    rows = await s.execute(select(HelpCategory).order_by(HelpCategory.position, HelpCategory.id))
    return list(rows.scalars())


async def category_count(s: Any) -> int:
    return int((await s.execute(select(func.count()).select_from(HelpCategory))).scalar_one())


async def category_by_slug(s: Any, slug: str) -> HelpCategory | None:
    found = await s.execute(select(HelpCategory).where(HelpCategory.slug == slug))
    return found.scalar_one_or_none()


async def articles(s: Any, *, published_only: bool) -> list[HelpArticle]:
    query = select(HelpArticle).order_by(HelpArticle.category_id, HelpArticle.position)
    if published_only:
        query = query.where(HelpArticle.status == "published")
    return list((await s.execute(query)).scalars())


async def article_by_slug(s: Any, slug: str, *, for_update: bool = False) -> HelpArticle | None:
    query = select(HelpArticle).where(HelpArticle.slug == slug)
    if for_update:
        query = query.with_for_update()
    return (await s.execute(query)).scalar_one_or_none()


async def published_stamp(s: Any) -> tuple[int, datetime | None]:
    """Changes whenever an article is added, edited, published or unpublished."""
    row = (
        await s.execute(
            select(
                func.count().filter(HelpArticle.status == "published"),
                func.max(HelpArticle.updated_at),
            )
        )
    ).one()
    return int(row[0]), row[1]


async def related(s: Any, article: HelpArticle, limit: int) -> list[HelpArticle]:
    query = (
        select(HelpArticle)
        .where(
            HelpArticle.status == "published",
            HelpArticle.category_id == article.category_id,
            HelpArticle.id != article.id,
        )
        .order_by(HelpArticle.position)
        .limit(limit)
    )
    return list((await s.execute(query)).scalars())


async def insert_categories_missing(s: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await s.execute(insert(HelpCategory).values(rows).on_conflict_do_nothing())


async def insert_articles_missing(s: Any, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    if not rows:
        return []
    result = await s.execute(
        insert(HelpArticle).values(rows).on_conflict_do_nothing().returning(HelpArticle.id)
    )
    return list(result.scalars())


SEEDED_FIELDS = (
    "category_id", "position", "title_zh", "title_en", "body_zh", "body_en",
    "keywords_zh", "keywords_en",
)  # fmt: skip


async def refresh_unedited(s: Any, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Bring articles no staff member ever edited (``updated_by`` is null) up to the shipped
    text; an edited one is left alone. Returns the ids changed."""
    changed: list[uuid.UUID] = []
    for row in rows:
        differs = or_(*(getattr(HelpArticle, f) != row[f] for f in SEEDED_FIELDS))
        result = await s.execute(
            update(HelpArticle)
            .where(HelpArticle.slug == row["slug"], HelpArticle.updated_by.is_(None), differs)
            .values({f: row[f] for f in SEEDED_FIELDS} | {"updated_at": row["updated_at"]})
            .returning(HelpArticle.id)
        )
        changed.extend(result.scalars())
    return changed


async def add_events(s: Any, article_ids: list[uuid.UUID], action: str, actor: Any) -> None:
    for article_id in article_ids:
        s.add(HelpArticleEvent(article_id=article_id, action=action, actor_id=actor))
    await s.flush()


async def events(s: Any, article_id: uuid.UUID, limit: int = 20) -> list[HelpArticleEvent]:
    query = (
        select(HelpArticleEvent)
        .where(HelpArticleEvent.article_id == article_id)
        .order_by(HelpArticleEvent.id.desc())
        .limit(limit)
    )
    return list((await s.execute(query)).scalars())


async def vote_of(
    s: Any, article_id: uuid.UUID, voter: str, *, lock: bool = True
) -> HelpVote | None:
    query = select(HelpVote).where(HelpVote.article_id == article_id, HelpVote.voter == voter)
    if lock:
        query = query.with_for_update()
    return (await s.execute(query)).scalar_one_or_none()


async def insert_vote(s: Any, article_id: uuid.UUID, voter: str, helpful: bool) -> bool:
    """True when this call created the vote (False: a concurrent one did)."""
    result = await s.execute(
        insert(HelpVote)
        .values(article_id=article_id, voter=voter, helpful=helpful)
        .on_conflict_do_nothing()
        .returning(HelpVote.id)
    )
    return result.scalar_one_or_none() is not None


async def bump_counts(s: Any, article_id: uuid.UUID, yes: int, no: int) -> None:
    await s.execute(
        update(HelpArticle)
        .where(HelpArticle.id == article_id)
        .values(
            helpful_yes=HelpArticle.helpful_yes + yes,
            helpful_no=HelpArticle.helpful_no + no,
        )
        .execution_options(synchronize_session=False)
    )
