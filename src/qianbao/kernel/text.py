"""One rule for digits: the API takes ASCII only.

``str.isdigit`` and ``\\d`` accept any Unicode digit ("１００", "١٠٠"), and ``$`` in a regular
expression accepts a trailing newline: neither may decide whether an amount, a PIN or a code is
valid. Pages may turn what a person typed with a Chinese input method (full-width digits, point,
minus) into ASCII first (``from_typing``), then use the same parsers as the API.
"""

from __future__ import annotations

import re
from datetime import date

_ASCII_DIGITS = re.compile(r"[0-9]+")
_FULLWIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "．": ".", "－": "-"})


def is_ascii_digits(text: object, length: int | None = None) -> bool:
    """``text`` is a string of ASCII digits only (of exactly ``length`` when given)."""
    if not isinstance(text, str) or _ASCII_DIGITS.fullmatch(text) is None:
        return False
    return length is None or len(text) == length


# C0 control characters but tab and newline (and DEL): PostgreSQL refuses NUL in text, and none
# of them means anything in a message a person writes.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plain_text(text: str | None) -> str:
    """A person's free text as we store it: line ends as ``\n``, control characters (NUL among
    them) removed, surrounding blanks trimmed."""
    return _CONTROLS.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


def from_typing(text: str) -> str:
    """What a person typed in a form, as the parsers read it: full-width digits, point and minus
    become ASCII and surrounding spaces go; nothing else changes (other scripts' digits stay,
    and are refused by the parser)."""
    return text.strip().translate(_FULLWIDTH)


_DAY = re.compile(r"([0-9]{4})(?:[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{2})([0-9]{2}))")


def parse_day(text: str) -> date | None:
    """A calendar day as people write it, year first (the order of a Chinese date):
    '2026-12-01', '2026/12/1', '2026.12.01', '2026年12月1日', '20261201' (full-width digits
    too). None for anything else, an impossible day ('2026-02-30') among it."""
    match = _DAY.fullmatch(from_typing(text).replace(" ", ""))
    if match is None:
        return None
    year, month, day = (int(v) for v in (match[1], match[2] or match[4], match[3] or match[5]))
    try:
        return date(year, month, day)
    except ValueError:
        return None
