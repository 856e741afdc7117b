"""Traditional Chinese (zh_Hant) from the Simplified texts, with OpenCC.

Qianbao is written in Simplified Chinese (zh_CN) and English. Readers in Hong Kong, Macau and
Taiwan get Traditional Chinese that is *generated* from the Simplified text, never typed twice:

- the gettext catalog ``locale/zh_Hant/LC_MESSAGES/messages.po`` by ``tools/hant_catalog.py``
  (``make extract-messages`` / ``make translations`` keep it in step with zh_CN);
- texts kept in the database in two languages (help articles, their categories, labels) when
  they are shown (``zh_text``), so an article staff edit in Simplified reads right at once.

The OpenCC configuration is ``s2twp``: Taiwan standard characters (裡, 為, 著: also what Hong
Kong print reads without effort) with Taiwan phrasing (軟體, 簡訊, 登入), since Taiwan is most of
our Traditional readers; Hong Kong readers read it as they read Taiwanese sites. Corrections a
person made live in ``locale/zh_Hant/overrides.toml``: ``[phrases]`` replaced after every
conversion, ``[messages]`` whole catalog entries by msgid.

``to_hans`` is the other way (``tw2sp``): search matches a query typed in Traditional against the
Simplified articles and synonyms.
"""

from __future__ import annotations

import threading
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

CONFIG = "s2twp"
BACK_CONFIG = "tw2sp"
OVERRIDES = Path(__file__).resolve().parent.parent / "locale" / "zh_Hant" / "overrides.toml"

_lock = threading.Lock()
_converters: dict[str, Any] = {}


def _converter(config: str) -> Any:
    found = _converters.get(config)
    if found is None:
        with _lock:
            found = _converters.get(config)
            if found is None:
                import opencc

                found = _converters[config] = opencc.OpenCC(config)
    return found


@lru_cache(maxsize=1)
def overrides() -> dict[str, dict[str, str]]:
    """``{"phrases": {wrong: right}, "messages": {msgid: msgstr}, "search": {...}}``."""
    data = tomllib.loads(OVERRIDES.read_text("utf-8")) if OVERRIDES.exists() else {}
    return {
        part: {str(k): str(v) for k, v in data.get(part, {}).items()}
        for part in ("phrases", "messages", "search")
    }


def _replace(text: str, table: dict[str, str]) -> str:
    # Longest first, so that a phrase containing another one wins.
    for wrong, right in sorted(table.items(), key=lambda kv: -len(kv[0])):
        if wrong in text:
            text = text.replace(wrong, right)
    return text


@lru_cache(maxsize=4096)
def to_hant(text: str) -> str:
    """Simplified → Traditional (s2twp), then the phrase overrides."""
    if not text or text.isascii():
        return text
    return _replace(str(_converter(CONFIG).convert(text)), overrides()["phrases"])


@lru_cache(maxsize=4096)
def to_hans(text: str) -> str:
    """Traditional → Simplified for matching (search queries typed in Traditional), with the
    ``[search]`` overrides (帳戶 → 账户, 儲值 → 充值)."""
    if not text or text.isascii():
        return text
    return _replace(str(_converter(BACK_CONFIG).convert(text)), overrides()["search"])


def zh_text(text: str, locale: str) -> str:
    """A Chinese text kept in Simplified, in the reader's script."""
    return to_hant(text) if locale == "zh_Hant" and text else text


def warm_up() -> None:
    """Load both dictionaries (a few milliseconds each) before the first request needs them."""
    to_hant("钱包")
    to_hans("錢包")
