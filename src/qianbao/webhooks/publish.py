"""Publishing an event, in the caller's transaction: the webhook tables are its outbox.

The event and one pending delivery per enabled endpoint of the owner that subscribed to its type
are written by one statement (this runs on a payment's hot path); when no endpoint wants the
event, nothing is written. A rolled-back caller leaves nothing, a committed one is delivered at
least once by the dispatcher, which polls every ``settings.webhooks.dispatch_interval_s`` (no
NOTIFY: it would serialise the committing transactions of the hot path, and a delay of about a
second is fine for webhooks)."""

from __future__ import annotations

import uuid
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
    if event_type not in EVENT_TYPES:
        raise EventTypeUnknown(event_type=event_type)
    event_id = new_message_id()
    written = await repo.publish(
        session,
        event_id=event_id,
        owner_id=owner_id,
        event_type=event_type,
        payload=event_payload(event_type, data, occurred_at),
        occurred_at=occurred_at,
        created_at=clock_of(session).now(),
    )
    return event_id if written else None
