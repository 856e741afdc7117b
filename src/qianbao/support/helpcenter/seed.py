"""Loads the shipped articles (content/) into the database: what is missing, by slug, and a
newer shipped text for articles no staff member ever edited — what staff edited or unpublished
is never overwritten."""

from __future__ import annotations

from typing import Any

from qianbao.kernel.clock import clock_of
from qianbao.support.helpcenter import content
from qianbao.support.helpcenter import repository as repo


async def ensure_default_content(s: Any) -> int:
    """Insert the shipped categories and articles whose slug is not there yet (published), and
    refresh the text of the unedited ones. Idempotent and safe when two processes race.
    Returns how many articles it added."""
    await repo.insert_categories_missing(
        s,
        [
            {"slug": c.slug, "position": c.position, "name_zh": c.name_zh, "name_en": c.name_en}
            for c in content.categories()
        ],
    )
    ids = {c.slug: c.id for c in await repo.categories(s)}
    now = clock_of(s).now()
    rows = [
        {
            "slug": a.slug,
            "category_id": ids[a.category],
            "status": "published",
            "position": a.position,
            "title_zh": a.title_zh,
            "title_en": a.title_en,
            "body_zh": a.body_zh,
            "body_en": a.body_en,
            "keywords_zh": a.keywords_zh,
            "keywords_en": a.keywords_en,
            "created_at": now,
            "updated_at": now,
            "published_at": now,
        }
        for a in content.articles()
        if a.category in ids
    ]
    added = await repo.insert_articles_missing(s, rows)
    await repo.add_events(s, added, "seeded", None)
    refreshed = await repo.refresh_unedited(s, rows)
    await repo.add_events(s, refreshed, "reseeded", None)
    return len(added)
