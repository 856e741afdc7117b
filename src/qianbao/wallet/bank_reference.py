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
_CANDIDATE = re.compile(r"(?<![0-9A-Z])Q[ \-]*B((?:[ \-]*[0-9A-Z]){5,12})(?![0-9A-Z])")


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
    for match in _CANDIDATE.finditer(text):
        code = PREFIX + re.sub(r"[ \-]", "", match.group(1))
        seen = seen or code
        if is_valid(code) and code not in valid:
            valid.append(code)
    if len(valid) == 1:
        return MemoReading("found", valid[0], valid[0])
    if len(valid) > 1:
        return MemoReading("ambiguous", None, " ".join(valid))
    return MemoReading("invalid" if seen else "missing", None, seen)


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
