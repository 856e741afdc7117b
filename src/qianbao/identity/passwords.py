"""Login passwords: NIST-style rules (length, not common, not built from the user's own data)
and argon2id hashing with OWASP parameters, off the event loop."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from qianbao.identity.errors import PasswordsDiffer, WeakPassword
from qianbao.kernel.i18n import N_

MIN_LENGTH = 8
MAX_LENGTH = 128
# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, hash_len=32, salt_len=16)
_DUMMY_HASH = HASHER.hash("not-a-real-password-just-for-timing")
# Hashing is CPU work: at most one per core at once. A burst of sign-ins waits in this line
# without holding a database connection (callers give theirs back first:
# kernel.db.release_connection), so it cannot take the pool or every thread from everyone else.
_HASHING = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="argon2")


async def _hashing(fn: Callable[[], object]) -> object:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, fn)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most common passwords."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _personal_fragments(phone: str | None, name: str | None, birthday: date | None) -> list[str]:
    fragments: list[str] = []
    if phone:
        digits = re.sub(r"\D", "", phone)
        fragments += [digits, digits[-11:], digits[-8:], digits[-6:]]
    if name:
        fragments += [part.lower() for part in re.split(r"\s+", name.strip()) if len(part) >= 2]
    if birthday:
        fragments += [
            birthday.strftime("%Y%m%d"),
            birthday.strftime("%d%m%Y"),
            birthday.strftime("%m%d%Y"),
            birthday.strftime("%y%m%d"),
            birthday.strftime("%Y-%m-%d"),
            birthday.strftime("%m%d"),
        ]
    return [f for f in fragments if len(f) >= 4]


def check_password(
    password: str,
    *,
    confirm: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    birthday: date | None = None,
) -> None:
    """Refuse passwords that are short, common, or made from the user's number, name or birthday.
    No composition rules (NIST SP 800-63B)."""
    if confirm is not None and confirm != password:
        raise PasswordsDiffer()
    if len(password) < MIN_LENGTH:
        raise WeakPassword(reason=N_("use at least 8 characters"))
    if len(password) > MAX_LENGTH:
        raise WeakPassword(reason=N_("use at most 128 characters"))
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(password)) <= 2:
        raise WeakPassword(reason=N_("it is one of the most common passwords"))
    squeezed = re.sub(r"[\W_]", "", lowered)
    for fragment in _personal_fragments(phone, name, birthday):
        if fragment in lowered or (fragment in squeezed and len(squeezed) - len(fragment) < 4):
            raise WeakPassword(
                reason=N_("do not build it from your phone number, name or birthday")
            )
    from zxcvbn import zxcvbn

    inputs = [f for f in _personal_fragments(phone, name, birthday)]
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < 2:
        raise WeakPassword(
            reason=N_("it is too easy to guess; a few unrelated words make a strong one")
        )


async def hash_password(password: str) -> str:
    return str(await _hashing(lambda: HASHER.hash(password)))


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant work whether or not a hash exists, so timing does not reveal unknown users."""

    def _verify() -> bool:
        try:
            return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return bool(await _hashing(_verify))


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)
