"""The help-center half of the chat bot: which article answers a question, and what of it to
say inline.

- ``find``: the search's hits for what the customer wrote, read as text (markup and scripts are
  not words: ``<script>alert(1)</script>`` asks nothing). The best hit must score at least
  ``MIN_SCORE`` — calibrated on the public evaluation set ``bench/data/help_questions.toml``
  (its lowest best score is about 1.3; ``tests/integration/test_chat_bot_threshold.py`` checks
  that every question there still gets an answer, and that nonsense does not).
- A tie: the two best articles score within ``TIE_RATIO`` of each other and belong to different
  categories — the bot asks which one was meant (one question, two choices).
- ``excerpt``: the article's numbered steps (or its first paragraph), trimmed, with the
  relative links they name; placeholders (``{{hotline}}``…) filled from the settings.
- ``choice_of``: the customer's answer to a clarifying question — "1", "２", "1. <title>",
  "第二个", "second", or a choice's title."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import nh3

from qianbao.kernel.translations import is_chinese
from qianbao.support.helpcenter import Hit, search
from qianbao.support.helpcenter import service as articles
from qianbao.support.helpcenter.errors import ArticleNotFound
from qianbao.support.helpcenter.render import fill, to_text

MIN_SCORE = 1.0  # the best hit's BM25F score below which "nothing fits" (see the module doc)
TIE_RATIO = 0.93  # the second best within 7 % of the best, in another category: ask
MAX_STEPS = 6
STEP_CHARS = {"zh": 110, "en": 200}
LEAD_CHARS = {"zh": 90, "en": 180}
MAX_LINKS = 4


def as_words(text: str) -> str:
    """What the customer wrote, as words: tags dropped (with the contents of scripts and
    styles), entities read back."""
    return html.unescape(nh3.clean(text or "", tags=set())).strip()


@dataclass
class Found:
    kind: str  # "answer" | "clarify" | "none"
    hits: list[Hit] = field(default_factory=list)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


def decide(hits: list[Hit]) -> Found:
    """Answer, ask, or say nothing fits — from the ranking's scores alone."""
    if not hits or hits[0].score < MIN_SCORE:
        return Found("none")
    if (
        len(hits) > 1
        and hits[1].score >= TIE_RATIO * hits[0].score
        and hits[1].article.category != hits[0].article.category
    ):
        return Found("clarify", hits)
    return Found("answer", hits)


async def find(s: Any, question: str, locale: str, limit: int) -> Found:
    words = as_words(question)
    if not words:
        return Found("none")
    return decide(await search(s, words, locale, max(limit, 2)))


# -- what of an article to say --------------------------------------------------------------
@dataclass
class Excerpt:
    slug: str
    title: str
    url: str
    lead: str
    steps: list[str]
    links: list[dict[str, str]]


_ITEM = re.compile(r"^(\d+)\.\s+(.*)$")
_LINK = re.compile(r"\[([^\]]+)\]\((/[^)\s]*)\)")


def trim(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ，,;；:：") + "…"


def _lang(locale: str) -> str:
    return "zh" if is_chinese(locale) else "en"


def numbered_steps(markdown: str) -> list[str]:
    """The items of the first numbered list, each with its indented lines (sub-points too)."""
    items: list[list[str]] = []
    for line in markdown.splitlines():
        found = _ITEM.match(line)
        if found:
            items.append([found.group(2)])
        elif items and (line.startswith((" ", "\t")) or not line.strip()):
            if line.strip():
                items[-1].append(re.sub(r"^\s*[-*+]\s+", "", line.strip()))
        elif items:
            break  # the list ended
    return [" ".join(parts) for parts in items]


def first_paragraph(markdown: str) -> str:
    block: list[str] = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if not stripped:
            if block:
                break
            continue
        if stripped.startswith(("#", "|", "-", "*", ">")) or _ITEM.match(stripped):
            if block:
                break
            continue
        block.append(stripped)
    return " ".join(block)


def relative_links(markdown: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for label, url in _LINK.findall(markdown):
        if url.startswith("//") or any(link["url"] == url for link in out):
            continue
        out.append({"label": to_text(label), "url": url})
    return out[:MAX_LINKS]


def excerpt_of(
    slug: str, title: str, markdown: str, locale: str, values: dict[str, str] | None
) -> Excerpt:
    markdown = fill(markdown, values)
    lang = _lang(locale)
    raw_steps = numbered_steps(markdown)[:MAX_STEPS]
    lead = trim(to_text(first_paragraph(markdown)), LEAD_CHARS[lang])
    steps = [trim(to_text(step), STEP_CHARS[lang]) for step in raw_steps]
    links = relative_links("\n".join(raw_steps) if raw_steps else markdown)
    links = [link for link in links if link["url"] != f"/help/{slug}"]
    return Excerpt(slug, title, f"/help/{slug}", lead, steps, links)


async def excerpt(
    s: Any, slug: str, locale: str, values: dict[str, str] | None, *, title: str = ""
) -> Excerpt:
    """The article ``slug`` in ``locale`` (a published one: else only ``title`` and its link)."""
    try:
        article = await articles.published(s, slug)
    except ArticleNotFound:
        return Excerpt(slug, title, f"/help/{slug}", "", [], [])
    return excerpt_of(article.slug, article.title(locale), article.body(locale), locale, values)


# -- the answer to a clarifying question ------------------------------------------------------
_NUMBER = re.compile(r"^\s*[(（]?\s*([1-9１-９])\s*(?:[.、．:：)）]|\s|$)")
_ORDINALS = {
    "第一个": 1, "第一": 1, "第一篇": 1, "前者": 1, "first": 1, "the first": 1, "first one": 1,
    "第二个": 2, "第二": 2, "第二篇": 2, "后者": 2, "second": 2, "the second": 2, "second one": 2,
}  # fmt: skip


def choice_of(text: str, choices: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The choice the customer picked, or None (then the text is a new question)."""
    text = (text or "").strip()
    wanted: int | None = None
    found = _NUMBER.match(text)
    if found:
        wanted = int(found.group(1).translate(str.maketrans("１２３４５６７８９", "123456789")))
    else:
        key = text.lower().rstrip("。.!！ ")
        wanted = _ORDINALS.get(key)
    for choice in choices:
        if wanted is not None and choice.get("n") == wanted:
            return choice
        if wanted is None and text and text == choice.get("title"):
            return choice
    return None
