"""Text to search terms, for Chinese and English alike.

- Chinese runs are segmented with jieba (search mode: long words and the shorter words inside
  them). jieba's dictionary ships in its wheel; it is loaded once, lazily, in its own tokenizer.
- Latin runs are lower-cased, split on non-alphanumerics and reduced by a small suffix stemmer.
- Stop words of both languages are dropped.
- Synonyms: every phrase of a synonym group ("充值", "top up", "recharge", "add money", ...) also
  yields the group's concept term (``~topup``), in documents and in queries alike, so that a query
  in other words than the article's still meets it.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from typing import Any

from qianbao.support.helpcenter.synonyms import DOMAIN_WORDS, SYNONYMS

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:['’][a-z]+)?")
_IS_CJK = re.compile(rf"[{_CJK}]")

STOP_EN = frozenset(
    word.replace("'", "")
    for word in str.split(
        """a an and are as at be been but by can could do does did for from has have how i if in
    into is it its me my of on or our so than that the their them then there these they this
    to was we were what when where which who why will with would you your yours am up i'm
    i've it's don't doesn't didn't can't cannot not no should shall may might get got"""
    )
)
STOP_ZH = frozenset(
    str.split(
        """的 了 吗 呢 吧 啊 么 是 在 我 我的 你 您 他 她 它 们 我们 怎么 怎样 如何 怎么办
    为什么 什么
    哪里 哪儿 能 可以 会 要 想 请问 请 一下 还 就 都 也 和 与 及 或 被 把 给 让 对 从 到 上 下 中
    里 个 有 没 没有 不 这 那 这个 那个 一个 多少 几 吗？ 啥 咋 该 应该 得 地 着 过 之"""
    )
)

# Phrase synonyms are matched on the normalised query text; single words on the terms.
_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """jieba's tokenizer, built once (about half a second: its bundled dictionary)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                for word in DOMAIN_WORDS:
                    tokenizer.add_word(word, freq=200_000)
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def warm_up() -> None:
    _jieba()


_SUFFIXES = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("fulness", "ful"),
    ("iveness", "ive"),
    ("ingly", ""),
    ("ments", "ment"),
    ("ings", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ing", ""),
    ("ed", ""),
    ("es", ""),
    ("s", ""),
)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A small suffix stripper: 'withdrawing'/'withdraws'/'withdraw', 'fees'/'fee',
    'declined'/'decline' meet ('frozen'/'freeze' meet through a synonym group)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ed", "ings") and len(base) > 3 and base[-1] == base[-2]:
                base = base[:-1]  # stopped -> stop, transferred -> transfer
            if suffix == "es" and not base.endswith(("s", "x", "z", "ch", "sh")):
                base = word[:-1]  # codes -> code, charges -> charge
            word = base
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]  # decline/declined -> declin, arrive/arrived -> arriv
    return word


def _words(text: str) -> list[tuple[str, bool]]:
    """(term, is_chinese) in reading order, before stop words and synonyms."""
    out: list[tuple[str, bool]] = []
    for run in _RUNS.findall(text.lower().replace("’", "'")):
        if _IS_CJK.match(run):
            for piece in _jieba().lcut_for_search(run):
                out.append((piece, True))
        else:
            out.append((run.replace("'", "").replace("’", ""), False))
    return out


def normalise(text: str) -> str:
    """Lower case, latin words stemmed and single-spaced: the form phrase synonyms match on."""
    parts = []
    for run in _RUNS.findall(text.lower()):
        parts.append(run if _IS_CJK.match(run) else stem(run.replace("'", "")))
    return " " + " ".join(parts) + " "


def terms(text: str) -> list[str]:
    """The search terms of a text: words (stemmed, no stop words) and concept terms."""
    out: list[str] = []
    for word, chinese in _words(text):
        if chinese:
            if word not in STOP_ZH:
                out.append(word)
        elif word not in STOP_EN and (len(word) > 1 or word.isdigit()):
            out.append(stem(word))
    out.extend(concepts(text))
    return out


def concepts(text: str) -> list[str]:
    """The concept terms of the synonym groups whose phrases occur in ``text`` (once each)."""
    norm = normalise(text)
    compact = norm.replace(" ", "")
    found = []
    for concept, phrases in _phrase_table():
        for phrase, chinese in phrases:
            if (phrase in compact) if chinese else (phrase in norm):
                found.append(concept)
                break
    return found


@lru_cache(maxsize=1)
def _phrase_table() -> tuple[tuple[str, tuple[tuple[str, bool], ...]], ...]:
    table = []
    for concept, phrases in SYNONYMS.items():
        prepared = []
        for phrase in phrases:
            if _IS_CJK.search(phrase):
                prepared.append((phrase, True))
            else:
                prepared.append((normalise(phrase), False))
        table.append(("~" + concept, tuple(prepared)))
    return tuple(table)


def english_words(text: str) -> list[str]:
    """The stemmed latin words of a text (for typo correction of queries)."""
    return [
        stem(w)
        for w, chinese in _words(text)
        if not chinese and w not in STOP_EN and len(w) > 2 and w.isalpha()
    ]


def synonym_vocabulary() -> set[str]:
    """Every latin word that appears in a synonym phrase (stemmed): typo targets."""
    words: set[str] = set()
    for phrases in SYNONYMS.values():
        for phrase in phrases:
            if not _IS_CJK.search(phrase):
                words.update(normalise(phrase).split())
    return words
