"""What an event looks like on the wire: its types, its ``webhook-id`` and its body."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from qianbao.kernel.ids import uuid7
from qianbao.webhooks.errors import NO_EVENT_TYPES, EventTypeUnknown

EVENT_TYPES = (
    "checkout.session.completed",
    "checkout.session.expired",
    "payment.succeeded",
    "refund.succeeded",
    "refund.failed",
    "payout.paid",
    "payout.failed",
    "dispute.opened",
    "dispute.closed",
)

MESSAGE_ID_PREFIX = "msg_"
# Crockford's base32 in lower case: URL-safe, no look-alike letters, and in the order of the
# characters' values, so ids sort by creation time (they are uuid7s).
_BASE32 = "0123456789abcdefghjkmnpqrstvwxyz"


def new_message_id() -> str:
    """``msg_`` and 26 characters: a uuid7 (128 bits) in base32. The ``webhook-id`` header."""
    value = uuid7().int
    chars = [_BASE32[(value >> shift) & 31] for shift in range(125, -1, -5)]
    return MESSAGE_ID_PREFIX + "".join(chars)


def check_event_types(event_types: Iterable[str]) -> list[str]:
    """The chosen types, each once, in the order of ``EVENT_TYPES``; refuses unknown ones."""
    chosen = list(event_types)
    for event_type in chosen:
        if event_type not in EVENT_TYPES:
            raise EventTypeUnknown(event_type=str(event_type)[:64])
    if not chosen:
        raise EventTypeUnknown(NO_EVENT_TYPES)
    return [t for t in EVENT_TYPES if t in chosen]


def iso_utc(at: datetime) -> str:
    """``2026-12-05T08:30:00.123456Z``: ISO-8601 in UTC, as Standard Webhooks' examples."""
    if at.tzinfo is None:
        raise ValueError("webhook timestamps need an aware datetime")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event_type: str, data: dict[str, Any], occurred_at: datetime) -> dict[str, Any]:
    """The body every endpoint receives: ``{"type", "timestamp", "data"}``."""
    return {"type": event_type, "timestamp": iso_utc(occurred_at), "data": data}


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The stored payload as sent and signed: compact JSON in UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
