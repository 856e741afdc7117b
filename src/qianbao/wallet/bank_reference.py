"""A user's bank-transfer reference (B3): the code they write in the memo of a bank transfer to
the operator's receiving account, so the statement line can be credited to their wallet.

The code is ``QB`` + 7 random characters of Crockford's base-32 alphabet (no I, L, O or U, so
nothing reads as a 1 or a 0) + one ISO 7064 MOD 37-2 check character (python-stdnum; codes whose
check would be ``*`` are drawn again): any one character typed wrong, and any two neighbours
swapped, fail the check. (MOD 37-36, the hybrid system, missed about 1 in 700 swaps.) One code
per user, kept for good and never given to anyone else (a unique column; rows are never
deleted).

Reading a memo (``read_memo``): the memo is brought to one form first — NFKC (full-width
letters, digits and the ideographic space become ASCII), upper case — and a code may be written
with spaces or hyphens inside it ("QB 7K3M-9XA1"). A candidate is accepted only if its check
character is right; nothing is corrected or guessed. What the reading found decides: one valid
code → that code; codes that fail the check → ``invalid``; no ``QB`` code at all → ``missing``;
two different valid codes → ``ambiguous``. Whether a valid code was ever issued is the caller's
lookup (``owner_of``)."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from stdnum.iso7064 import mod_37_2

from qianbao.kernel.clock import clock_of
from qianbao.wallet.models_bank import BankReference

PREFIX = "QB"
BODY = 7
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32
_START = re.compile(r"(?<![0-9A-Z])Q[ \-]*B")  # a code's prefix, not inside a word
_GROUP = re.compile(r"[ \-]*([0-9A-Z]+)")  # then groups of letters and digits


def new_code() -> str:
    while True:
        body = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(BODY))
        check = mod_37_2.calc_check_digit(body)
        if check != "*":  # a code is letters and digits only
            return body + check


def is_valid(code: str) -> bool:
    return (
        len(code) == len(PREFIX) + BODY + 1
        and code.startswith(PREFIX)
        and code.isascii()
        and code.isalnum()
        and mod_37_2.is_valid(code)
    )


@dataclass(frozen=True)
class MemoReading:
    outcome: Literal["found", "missing", "invalid", "ambiguous"]
    code: str | None = None  # the one valid code (found)
    seen: str | None = None  # what looked like a code (for the operator), compacted


def normal_form(memo: str) -> str:
    return unicodedata.normalize("NFKC", memo or "").upper()


def read_memo(memo: str) -> MemoReading:
    text = normal_form(memo)
    valid: list[str] = []
    seen: str | None = None
    for start in _START.finditer(text):
        code = _candidate(text, start.end())
        if code is None:
            continue
        seen = seen or code
        if is_valid(code) and code not in valid:
            valid.append(code)
    if len(valid) == 1:
        return MemoReading("found", valid[0], valid[0])
    if len(valid) > 1:
        return MemoReading("ambiguous", None, " ".join(valid))
    return MemoReading("invalid" if seen else "missing", None, seen)


def _candidate(text: str, pos: int) -> str | None:
    """The code that starts at ``pos`` (after ``QB``): groups of letters and digits, separated
    by spaces or hyphens, taken until they make a code's length. A code is read only if a group
    ends exactly there ("QB7K3M-9XA1 LI MEI": the payer's name after it is not part of it);
    otherwise what was seen (at most 12 characters) comes back to be refused by the check."""
    body = ""
    while len(body) < BODY + 1:
        group = _GROUP.match(text, pos)
        if group is None:
            break
        body, pos = body + group.group(1), group.end()
    if len(body) < 5:
        return None  # too short to be a code someone meant
    return PREFIX + (body if len(body) == BODY + 1 else body[:12])


async def reference_of(session: Any, user_id: uuid.UUID) -> str:
    """The user's code, made the first time it is asked for."""
    found = await session.scalar(select(BankReference.code).where(BankReference.user_id == user_id))
    if found is not None:
        return str(found)
    for _ in range(5):
        code = new_code()
        try:
            async with session.begin_nested():
                session.add(
                    BankReference(user_id=user_id, code=code, created_at=clock_of(session).now())
                )
                await session.flush()
        except IntegrityError:
            # Another request made this user's code at the same moment, or (rarely) the code
            # was taken: read again, or draw another.
            found = await session.scalar(
                select(BankReference.code).where(BankReference.user_id == user_id)
            )
            if found is not None:
                return str(found)
            continue
        return code
    raise RuntimeError("no free bank reference code after 5 draws")


async def owner_of(session: Any, code: str) -> uuid.UUID | None:
    return await session.scalar(select(BankReference.user_id).where(BankReference.code == code))


async def owners_of(session: Any, codes: set[str]) -> dict[str, uuid.UUID]:
    """``owner_of`` for many codes in one statement; unknown codes are left out."""
    if not codes:
        return {}
    rows = await session.execute(
        select(BankReference.code, BankReference.user_id).where(
            BankReference.code.in_(sorted(codes))
        )
    )
    return {str(code): user_id for code, user_id in rows}
