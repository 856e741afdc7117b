"""Help-center search: BM25F over titles, keywords and bodies of both languages.

The index is built in memory from the published articles and cached under a stamp (how many are
published, and the latest ``updated_at``), so an edit, a publish or an unpublish rebuilds it on
the next search. Queries in Chinese and English meet articles in either language through the
synonym concepts (see ``synonyms``); English words not in the vocabulary are corrected to the
closest known words (difflib), so "recharg" or "withdrawl" still find their articles.

``search(session, query, locale, limit)`` is the service other features (the chat bot) call.
"""

from __future__ import annotations

import asyncio
import difflib
import math
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qianbao.kernel.hant import to_hans, zh_text
from qianbao.support.helpcenter import repository as repo
from qianbao.support.helpcenter import service, text
from qianbao.support.helpcenter.render import to_text

K1 = 1.2
B = 0.75
FIELDS = {"title": 3.0, "keywords": 2.0, "body": 1.0}
TYPO_WEIGHT = 0.8
RELATIVE_FLOOR = 0.25  # a hit scoring under a quarter of the best one is dropped
MAX_QUERY = 200
SNIPPET_CHARS = {"zh_CN": 90, "zh_Hant": 90, "en": 180}


@dataclass(frozen=True)
class ArticleRef:
    """What a search hit says about its article, in the asked language."""

    id: uuid.UUID
    slug: str
    category: str  # the category's slug
    title: str
    url: str


@dataclass(frozen=True)
class Hit:
    article: ArticleRef
    score: float
    snippet: str


@dataclass
class _Doc:
    id: uuid.UUID
    slug: str
    category: str
    titles: dict[str, str]
    texts: dict[str, str]  # plain text per locale, for snippets
    fields: dict[str, Counter[str]]
    lengths: dict[str, int]


class Index:
    def __init__(self, docs: list[_Doc]) -> None:
        self.docs = docs
        self.avg = {
            f: (sum(d.lengths[f] for d in docs) / len(docs) if docs else 1.0) or 1.0 for f in FIELDS
        }
        df: Counter[str] = Counter()
        for d in docs:
            df.update({t for f in FIELDS for t in d.fields[f]})
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.latin = sorted(t for t in self.idf if t.isascii() and t.isalpha() and len(t) > 2)
        self.df = df
        self.synonym_words = text.synonym_vocabulary()
        self.latin_set = set(self.latin) | self.synonym_words

    def score(self, query: dict[str, float]) -> list[tuple[float, _Doc]]:
        out = []
        for d in self.docs:
            total = 0.0
            for term, weight in query.items():
                idf = self.idf.get(term)
                if idf is None:
                    continue
                tf = 0.0
                for f, boost in FIELDS.items():
                    raw = d.fields[f].get(term, 0)
                    if raw:
                        norm = 1 - B + B * d.lengths[f] / self.avg[f]
                        tf += boost * raw / norm
                if tf:
                    total += weight * idf * tf * (K1 + 1) / (tf + K1)
            if total > 0:
                out.append((total, d))
        out.sort(key=lambda item: (-item[0], item[1].slug))
        return out

    def corrected(self, query: str) -> tuple[str, dict[str, float]]:
        """The query with unknown English words replaced by their closest known word, and
        the extra terms that brings (weighted a little lower than exact words)."""
        extra: dict[str, float] = {}
        fixed = query.lower()
        for word in set(text.english_words(query)):
            if word in self.latin_set:
                continue
            best = self._closest(word)
            if best:
                extra[best] = TYPO_WEIGHT
                fixed = re.sub(rf"\b{re.escape(word)}\w*", best, fixed)
        return fixed, extra

    def _closest(self, word: str) -> str | None:
        """The known word at the smallest edit distance (a transposition counts one); ties go
        to words of the synonym table (what people ask about), then to commoner words."""
        allowed = 1 if len(word) <= 5 else 2
        candidates = difflib.get_close_matches(word, self.latin_set, n=8, cutoff=0.6)
        scored = [
            (edit_distance(word, c), c not in self.synonym_words, -self.df.get(c, 0), c)
            for c in candidates
        ]
        scored = [s for s in scored if s[0] <= allowed]
        return min(scored)[3] if scored else None


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    two neighbouring letters each cost one."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _doc(article: Any, category: str) -> _Doc:
    fields: dict[str, Counter[str]] = {}
    fields["title"] = Counter(text.terms(article.title_zh) + text.terms(article.title_en))
    fields["keywords"] = Counter(
        text.terms(article.keywords_zh.replace(",", " ，"))
        + text.terms(article.keywords_en.replace(",", " , "))
    )
    plain = {"zh_CN": to_text(article.body_zh), "en": to_text(article.body_en)}
    fields["body"] = Counter(text.terms(plain["zh_CN"]) + text.terms(plain["en"]))
    return _Doc(
        id=article.id,
        slug=article.slug,
        category=category,
        titles={"zh_CN": article.title_zh, "en": article.title_en},
        texts=plain,
        fields=fields,
        lengths={f: sum(c.values()) for f, c in fields.items()},
    )


_cache: dict[str, Any] = {"stamp": None, "index": None}
_lock = asyncio.Lock()


async def index(s: Any) -> Index:
    """The index of the published articles, rebuilt when they changed."""
    await service.prepare(s)
    stamp: tuple[int, datetime | None] = await repo.published_stamp(s)
    if _cache["stamp"] == stamp and _cache["index"] is not None:
        return _cache["index"]
    async with _lock:
        if _cache["stamp"] == stamp and _cache["index"] is not None:
            return _cache["index"]
        categories = {c.id: c.slug for c in await repo.categories(s)}
        articles = await repo.articles(s, published_only=True)
        rows = [(a, categories.get(a.category_id, "")) for a in articles]
        built = await asyncio.to_thread(lambda: Index([_doc(a, c) for a, c in rows]))
        _cache.update(stamp=stamp, index=built)
        return built


async def warm_up(db: Any) -> None:
    """Load the word splitter and build the index before the first customer searches (the
    first search of a process otherwise pays for both: about half a second)."""
    await asyncio.to_thread(text.warm_up)
    async with db.transaction() as s:
        await index(s)


def _query_terms(idx: Index, query: str) -> dict[str, float]:
    fixed, extra = idx.corrected(query)
    weights: dict[str, float] = dict.fromkeys(text.terms(query), 1.0)
    for term in text.concepts(fixed):
        weights.setdefault(term, TYPO_WEIGHT)
    for term, weight in extra.items():
        weights.setdefault(term, weight)
    return weights


def snippet(doc: _Doc, locale: str, query: str) -> str:
    """The sentence of the article (in ``locale``) that shares most words with the query."""
    body = doc.texts.get(locale) or doc.texts["zh_CN"]  # zh_Hant: converted by the caller
    sentences = [p.strip() for p in re.split(r"(?<=[。！？!?\n])|(?<=\.)\s", body) if p.strip()]
    if not sentences:
        return ""
    wanted = {t for t in text.terms(query) if not t.startswith("~")}
    best, best_score = sentences[0], 0
    for sentence in sentences:
        found = set(text.terms(sentence))
        hits = len(wanted & found)
        if hits > best_score:
            best, best_score = sentence, hits
    limit = SNIPPET_CHARS.get(locale, 160)
    return best if len(best) <= limit else best[: limit - 1].rstrip() + "…"


def _search(idx: Index, query: str, locale: str, limit: int) -> list[Hit]:
    weights = _query_terms(idx, query)
    if not weights:
        return []
    ranked = idx.score(weights)
    if not ranked:
        return []
    # Weak hits far below the best one are noise (a shared common word): leave them out.
    floor = ranked[0][0] * RELATIVE_FLOOR
    ranked = [item for item in ranked if item[0] >= floor][:limit]
    return [
        Hit(
            article=ArticleRef(
                id=d.id,
                slug=d.slug,
                category=d.category,
                title=zh_text(d.titles.get(locale) or d.titles["zh_CN"], locale),
                url=f"/help/{d.slug}",
            ),
            score=round(score, 4),
            snippet=zh_text(snippet(d, locale, query), locale),
        )
        for score, d in ranked
    ]


async def search(s: Any, query: str, locale: str, limit: int = 10) -> list[Hit]:
    """The best published articles for a question in Chinese or English, best first."""
    query = (query or "").strip()[:MAX_QUERY]
    limit = max(1, min(limit, 50))
    if not query:
        return []
    idx = await index(s)
    # The articles and synonyms are in Simplified: a query in Traditional is matched as one.
    return await asyncio.to_thread(_search, idx, to_hans(query), locale, limit)
