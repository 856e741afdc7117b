"""Markdown to safe HTML (markdown-it-py, raw HTML disabled, then nh3 as a second fence), and
Markdown to plain text for search snippets.

Articles may name the operator's contact details instead of spelling them out — ``{{hotline}}``,
``{{hotline_hours}}``, ``{{support_email}}``, ``{{website}}`` — filled in from the settings when
shown (``fill``), so a changed number is right everywhere at once. In HTML the values are
escaped."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from html import escape as html_escape

import nh3
from markdown_it import MarkdownIt

# markdown-it logs every parser rule at DEBUG: thousands of lines per article.
logging.getLogger("markdown_it").setLevel(logging.INFO)

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}, "ol": {"start"}}


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    # commonmark + tables; "html": False turns any raw HTML in the source into visible text.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


PLACEHOLDERS = ("hotline", "hotline_hours", "support_email", "website")
_PLACEHOLDER = re.compile(r"\{\{\s*(" + "|".join(PLACEHOLDERS) + r")\s*\}\}")


def fill(text: str, values: dict[str, str] | None, *, escape: bool = False) -> str:
    """Put the known placeholders' values into ``text`` (unknown ones stay as written)."""
    if not values:
        return text

    def value(m: re.Match[str]) -> str:
        found = values.get(m.group(1))
        if found is None:
            return m.group(0)
        return html_escape(found) if escape else found

    return _PLACEHOLDER.sub(value, text)


def to_html(markdown: str, values: dict[str, str] | None = None) -> str:
    """Safe HTML of an article; ``values`` fill its placeholders (escaped)."""
    return fill(_clean_html(markdown), values, escape=True)


def _clean_html(markdown: str) -> str:
    html = _md().render(markdown)
    # A heading level 1 belongs to the page; shift article headings down one level.
    html = re.sub(r"<(/?)h1>", r"<\1h2>", html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
        filter_style_properties={"text-align"},
    )


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"(^|\n)\s*(#{1,6}\s+|[-*+]\s+|\d+\.\s+|>\s*)")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$", re.MULTILINE)


def to_text(markdown: str) -> str:
    """Readable plain text: links keep their words, marks and table rules go."""
    text = _LINK.sub(r"\1", markdown)
    text = _TABLE_RULE.sub("", text)
    text = _MARKS.sub(r"\1", text)
    text = text.replace("**", "").replace("`", "").replace("|", " ")
    return re.sub(r"[ \t]+", " ", text).strip()
