"""Identifiers. UUIDv7 (time-ordered) for rows, so inserts stay local in B-tree indexes."""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    """A RFC 9562 version 7 UUID: 48-bit Unix milliseconds, then random bits."""
    ms = time.time_ns() // 1_000_000  # noqa: TID251 - an id's ordering, not business time
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def new_request_id() -> str:
    return uuid.uuid4().hex
