"""Publishing an event, in the caller's transaction: the webhook tables are its outbox.

The event and one pending delivery per enabled endpoint of the owner that subscribed to its type
are written by one statement (this runs on a payment's hot path); when no endpoint wants the
event, nothing is written. A rolled-back caller leaves nothing, a committed one is delivered at
least once by the dispatcher, which polls every ``settings.webhooks.dispatch_interval_s`` (no
NOTIFY: it would serialise the committing transactions of the hot path, and a delay of about a
second is fine for webhooks)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from qianbao.kernel.clock import clock_of
from qianbao.webhooks import repository as repo
from qianbao.webhooks.errors import EventTypeUnknown
from qianbao.webhooks.events import EVENT_TYPES, event_payload, new_message_id


async def publish(
    session: Any,
    *,
    owner_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    occurred_at: datetime,
) -> str | None:
    """Record ``event_type`` for the owner's endpoints. Returns the event's ``webhook-id``
    (``msg_…``), or None when none of the owner's endpoints receives this type."""
    written = await publish_many(
        session, owner_id=owner_id, events=[(event_type, data)], occurred_at=occurred_at
    )
    return written[0]


async def publish_many(
    session: Any,
    *,
    owner_id: uuid.UUID,
    events: Sequence[tuple[str, dict[str, Any]]],
    occurred_at: datetime,
) -> list[str | None]:
    """Several events ``(type, data)`` of one owner at one moment, in one statement (a payment
    and the checkout session it completes). Returns each one's ``webhook-id`` or None."""
    for event_type, _ in events:
        if event_type not in EVENT_TYPES:
            raise EventTypeUnknown(event_type=event_type)
    rows = [
        (new_message_id(), event_type, event_payload(event_type, data, occurred_at))
        for event_type, data in events
    ]
    written = await repo.publish(
        session,
        owner_id=owner_id,
        events=rows,
        occurred_at=occurred_at,
        created_at=clock_of(session).now(),
    )
    return [row[0] if row[0] in written else None for row in rows]
