"""Which format a statement file is in, decided from its content (never from its name)."""

from __future__ import annotations

import codecs
import hashlib
import re

from qianbao.kernel.i18n import N_
from qianbao.rails.bankfiles._common import NOT_A_STATEMENT, refuse
from qianbao.rails.bankfiles.camt import parse_camt
from qianbao.rails.bankfiles.model import Statement
from qianbao.rails.bankfiles.mt940 import parse_mt940

MAX_BYTES = 200 * 1024 * 1024  # the largest statement file accepted
_MT940_START = re.compile(rb"(?:\{1:|:20:)")
_HEAD_LINES = 20  # MT940 exports may open with a few header lines before the first :20:


def check_size(size: int) -> None:
    """Refuse a file of ``size`` bytes above ``MAX_BYTES`` (callers may check before reading)."""
    if size > MAX_BYTES:
        refuse(
            1,
            N_("the file is larger than {max_mb} MB"),
            max_mb=MAX_BYTES // (1024 * 1024),
        )


def sha256_hex(data: bytes) -> str:
    """The file's SHA-256, lowercase hex: the same file imported twice is recognised by it."""
    return hashlib.sha256(data).hexdigest()


def parse_statement_file(data: bytes, filename: str = "") -> list[Statement]:
    """The statements in a camt.053, camt.054 or MT940 file; anything else is refused.

    ``filename`` is not used to decide (a name says nothing reliable about the content)."""
    check_size(len(data))
    if not data or data.isspace():
        refuse(1, N_("the file is empty"))
    head = data[:65536]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return parse_camt(data)  # only XML comes in UTF-16
    head = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if head.startswith(b"<"):
        return parse_camt(data)
    lines = head.splitlines()[:_HEAD_LINES]
    if any(_MT940_START.match(line) for line in lines):
        return parse_mt940(data)
    refuse(1, NOT_A_STATEMENT)
