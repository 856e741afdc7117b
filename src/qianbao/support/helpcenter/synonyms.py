"""The synonym table of help-center search, and extra words for the Chinese segmenter, loaded
from ``content/synonyms.toml`` (data, edited like the articles).

Each group is a concept: any of its phrases, in a document or in a query, adds the concept term.
Latin phrases are matched on whole (stemmed) words; Chinese phrases on the text itself. Keep the
groups about one idea each: a phrase in two groups ties those ideas together in every search.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

_DATA = tomllib.loads((Path(__file__).parent / "content" / "synonyms.toml").read_text("utf-8"))

SYNONYMS: dict[str, tuple[str, ...]] = {
    concept: tuple(phrases) for concept, phrases in _DATA["synonyms"].items()
}
# Words jieba should keep whole (its general dictionary would cut some of them apart).
DOMAIN_WORDS: tuple[str, ...] = tuple(_DATA["segmenter"]["domain_words"])
