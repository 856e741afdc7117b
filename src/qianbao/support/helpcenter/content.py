"""The default articles shipped with Qianbao: Markdown files with TOML front matter.

    content/categories.toml                 [[category]] slug, zh_CN, en (in order)
    content/articles/<slug>.zh_CN.md        +++ front matter +++ then the Markdown body
    content/articles/<slug>.en.md

Front matter (``+++`` lines around TOML): ``title``, ``category`` (a category slug), ``order``
(position inside the category) and ``keywords`` (a list: extra search words, synonyms users
type). Both files of an article must name the same category and order.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent / "content"
LOCALES = ("zh_CN", "en")


@dataclass(frozen=True)
class CategoryFile:
    slug: str
    position: int
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class ArticleFile:
    slug: str
    category: str
    position: int
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    keywords_zh: str
    keywords_en: str


class ContentError(ValueError):
    pass


def split_front_matter(text: str, name: str) -> tuple[dict[str, object], str]:
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "+++":
        raise ContentError(f"{name}: the file must start with a +++ front matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        raise ContentError(f"{name}: the front matter is not closed with +++") from None
    try:
        meta = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(f"{name}: front matter: {exc}") from exc
    body = "\n".join(lines[end + 1 :]).strip() + "\n"
    return meta, body


@lru_cache(maxsize=1)
def categories() -> tuple[CategoryFile, ...]:
    data = tomllib.loads((CONTENT_DIR / "categories.toml").read_text("utf-8"))
    return tuple(
        CategoryFile(slug=c["slug"], position=i, name_zh=c["zh_CN"], name_en=c["en"])
        for i, c in enumerate(data["category"], start=1)
    )


@lru_cache(maxsize=1)
def articles() -> tuple[ArticleFile, ...]:
    folder = CONTENT_DIR / "articles"
    slugs = sorted({p.name.split(".", 1)[0] for p in folder.glob("*.md")})
    known = {c.slug for c in categories()}
    out = []
    for slug in slugs:
        parts: dict[str, tuple[dict[str, object], str]] = {}
        for locale in LOCALES:
            path = folder / f"{slug}.{locale}.md"
            if not path.exists():
                raise ContentError(f"{slug}: {path.name} is missing (every article has both)")
            parts[locale] = split_front_matter(path.read_text("utf-8"), path.name)
        zh, en = parts["zh_CN"][0], parts["en"][0]
        if zh.get("category") != en.get("category") or zh.get("order") != en.get("order"):
            raise ContentError(f"{slug}: the two languages name another category or order")
        if zh.get("category") not in known:
            raise ContentError(f"{slug}: unknown category {zh.get('category')!r}")
        out.append(
            ArticleFile(
                slug=slug,
                category=str(zh["category"]),
                position=int(zh.get("order", 0)),  # type: ignore[call-overload]
                title_zh=str(zh["title"]),
                title_en=str(en["title"]),
                body_zh=parts["zh_CN"][1],
                body_en=parts["en"][1],
                keywords_zh=", ".join(zh.get("keywords", [])),  # type: ignore[arg-type]
                keywords_en=", ".join(en.get("keywords", [])),  # type: ignore[arg-type]
            )
        )
    return tuple(out)
