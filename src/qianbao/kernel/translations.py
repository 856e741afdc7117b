"""Languages: Simplified Chinese (zh_CN), Traditional Chinese (zh_Hant) and English (en), from
Babel catalogs. zh_Hant is generated from zh_CN (``kernel.hant``, ``tools/hant_catalog.py``).

The user's choice is remembered in a cookie; without one, ``Accept-Language`` picks; without that,
the operator's default (``QIANBAO_I18N__DEFAULT_LOCALE``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

LOCALES = ("zh_CN", "zh_Hant", "en")
CHINESE = frozenset({"zh_CN", "zh_Hant"})  # full-width punctuation, 、 lists, family name first
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
# What <html lang> and Content-Language say for each locale.
HTML_LANG = {"zh_CN": "zh-CN", "zh_Hant": "zh-Hant", "en": "en"}
LANGUAGE_NAMES = {"zh_CN": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
# What the header's switch shows on a phone (the full name stays its accessible name).
LANGUAGE_SHORT = {"zh_CN": "简体", "zh_Hant": "繁體", "en": "EN"}
# Chinese tags without a script: these regions write Traditional characters.
HANT_TERRITORIES = frozenset({"TW", "HK", "MO"})


def is_chinese(locale: str | None) -> bool:
    return locale in CHINESE


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


def normalize(tag: str | None) -> str | None:
    """Map a language tag (``zh``, ``zh-Hans-CN``, ``zh-TW``, ``zh-Hant-HK``, ``en-GB``, ``zh_CN``)
    to one we support: a Traditional script, or Taiwan, Hong Kong or Macau without a script, is
    zh_Hant; any other Chinese is zh_CN."""
    if not tag:
        return None
    tag = tag.strip().replace("-", "_")
    try:
        parsed = Locale.parse(tag)
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if parsed.language in ("zh", "yue"):  # yue: Cantonese, written in Traditional
        # The tag's own script first (Babel fills in a likely one: zh-Hant-CN would be Hans).
        parts = {p.lower() for p in tag.split("_")[1:]}
        if "hant" in parts:
            return "zh_Hant"
        if "hans" in parts:
            return "zh_CN"
        if parsed.language == "yue" or parsed.territory in HANT_TERRITORIES:
            return "zh_Hant"
        return "zh_CN"
    if parsed.language == "en":
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, index, tag))
    for neg_q, _, tag in sorted(ranked):
        if neg_q < 0:
            found = normalize(tag)
            if found:
                return found
    return None


def negotiate(cookie: str | None, accept_language: str | None, default: str) -> str:
    if cookie in LOCALES:
        return cookie
    return from_accept_language(accept_language) or default


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def gettext(locale: str, message: str, **params: Any) -> str:
    """Translate and fill ``{placeholders}``; a missing parameter stays as it is, no crash."""
    text = translations(locale).gettext(message)
    if not params:
        return text
    try:
        return text.format_map(_Params(params))
    except (ValueError, IndexError, AttributeError, KeyError):  # a broken placeholder: no crash
        return text
