"""All SQL of outbound webhooks. The webhook tables are the outbox of the events they carry:
``publish`` writes in the caller's transaction, the dispatcher claims and records in its own
short ones."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Table,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.engine import Row

from qianbao.kernel.db import driver_connection, lock_for_transaction
from qianbao.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

_TS = DateTime(timezone=True)

# One statement on the payment's hot path: the events, each with one pending delivery per
# enabled endpoint of the owner subscribed to its type; an event no endpoint wants is not written.
# Sent on the session's asyncpg connection (the same transaction): no ORM on the hot path.
_PUBLISH = """
    WITH targets AS (
        SELECT id, event_types FROM webhook_endpoints
        WHERE owner_id = $1 AND status = 'enabled'
    ), items AS (
        SELECT * FROM unnest($2::varchar[], $3::varchar[], $4::text[]) AS t(id, type, payload)
    ), events AS (
        INSERT INTO webhook_events (id, owner_id, type, payload, created_at)
        SELECT i.id, $1, i.type, i.payload::jsonb, $5
        FROM items i
        WHERE EXISTS (SELECT 1 FROM targets WHERE i.type = ANY(targets.event_types))
        RETURNING id, type
    )
    INSERT INTO webhook_deliveries (event_id, endpoint_id, next_attempt_at, created_at)
    SELECT events.id, targets.id, $6::timestamptz, $5::timestamptz
    FROM events JOIN targets ON events.type = ANY(targets.event_types)
    RETURNING event_id
"""


async def publish(
    s: Any,
    *,
    owner_id: uuid.UUID,
    events: Sequence[tuple[str, str, dict[str, Any]]],
    occurred_at: datetime,
    created_at: datetime,
) -> set[str]:
    """Insert the events ``(id, type, payload)`` and their deliveries; returns the ids of the
    events written (those some endpoint wants)."""
    conn = await driver_connection(s)
    rows = await conn.fetch(
        _PUBLISH,
        owner_id,
        [e[0] for e in events],
        [e[1] for e in events],
        [json.dumps(e[2], ensure_ascii=False) for e in events],
        created_at,
        occurred_at,
    )
    return {r[0] for r in rows}


# The dispatcher's claim: due pending deliveries nobody holds a lease on, locked (SKIP LOCKED,
# so dispatchers never wait for each other), leased until ``:lease`` and returned with what the
# attempt needs. The lease, not the row lock, keeps others away once this transaction commits.
_CLAIM = (
    text(
        """
    WITH due AS (
        SELECT id FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= :now
          AND (locked_until IS NULL OR locked_until <= :now)
        ORDER BY next_attempt_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE webhook_deliveries d SET locked_until = :lease
        FROM due WHERE d.id = due.id
        RETURNING d.id, d.event_id, d.endpoint_id, d.attempts
    )
    SELECT c.id, c.event_id, c.endpoint_id, c.attempts, ev.payload,
           ep.url, ep.status AS endpoint_status, ep.secret_sealed,
           ep.previous_secret_sealed, ep.previous_expires_at
    FROM claimed c
    JOIN webhook_events ev ON ev.id = c.event_id
    LEFT JOIN webhook_endpoints ep ON ep.id = c.endpoint_id
    ORDER BY c.id
    """
    )
    .bindparams(
        bindparam("now", type_=_TS),
        bindparam("lease", type_=_TS),
        bindparam("limit", type_=Integer()),
    )
    .columns(
        id=Integer(),
        event_id=String(),
        endpoint_id=UUID(as_uuid=True),
        attempts=Integer(),
        payload=JSONB(),
        url=String(),
        endpoint_status=String(),
        secret_sealed=String(),
        previous_secret_sealed=String(),
        previous_expires_at=_TS,
    )
)


async def claim_due(s: Any, *, now: datetime, lease: datetime, limit: int) -> list[Row[Any]]:
    return list((await s.execute(_CLAIM, {"now": now, "lease": lease, "limit": limit})).all())


async def fail_deliveries(s: Any, delivery_ids: Sequence[int], error: str) -> None:
    """Give up on pending deliveries without an attempt (their endpoint is disabled)."""
    if delivery_ids:
        await s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.status == "pending")
            .values(status="failed", last_error=error, next_attempt_at=None, locked_until=None)
            .execution_options(synchronize_session=False)
        )


async def fail_pending_of(s: Any, endpoint_ids: Sequence[uuid.UUID], error: str) -> None:
    """Give up on every pending delivery of these (just disabled) endpoints."""
    if endpoint_ids:
        await s.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id.in_(endpoint_ids), WebhookDelivery.status == "pending"
            )
            .values(status="failed", last_error=error, next_attempt_at=None, locked_until=None)
            .execution_options(synchronize_session=False)
        )


async def insert_attempts(s: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await s.execute(insert(WebhookAttempt), rows)


_deliveries = cast(Table, WebhookDelivery.__table__)
_RECORD = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("d_id"), _deliveries.c.status == "pending")
    .values(
        status=bindparam("d_status"),
        attempts=bindparam("d_attempts"),
        next_attempt_at=bindparam("d_next"),
        locked_until=None,
        last_status_code=bindparam("d_status_code"),
        last_error=bindparam("d_error"),
        succeeded_at=bindparam("d_succeeded_at"),
    )
)


async def record_deliveries(s: Any, rows: list[dict[str, Any]]) -> None:
    """Each delivery's new state after its attempt (one executemany); a delivery that is no
    longer pending (given up meanwhile) keeps its state."""
    if rows:
        await s.execute(_RECORD, rows)


async def lock_endpoints(s: Any, endpoint_ids: Sequence[uuid.UUID]) -> None:
    """Lock endpoint rows in id order (before their failure record changes)."""
    await s.execute(
        select(WebhookEndpoint.id)
        .where(WebhookEndpoint.id.in_(endpoint_ids))
        .order_by(WebhookEndpoint.id)
        .with_for_update()
    )


async def clear_failing(s: Any, endpoint_ids: Sequence[uuid.UUID]) -> None:
    if endpoint_ids:
        await s.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(endpoint_ids), WebhookEndpoint.failing_since.isnot(None))
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )


async def mark_failing(s: Any, endpoint_ids: Sequence[uuid.UUID], now: datetime) -> None:
    if endpoint_ids:
        await s.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(endpoint_ids), WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=now)
            .execution_options(synchronize_session=False)
        )


async def disable_failing(
    s: Any, endpoint_ids: Sequence[uuid.UUID], reason: str, now: datetime
) -> list[Row[Any]]:
    """Disable those endpoints that have been failing (no success since ``failing_since``);
    returns ``(id, owner_id, url)`` of each one disabled now."""
    if not endpoint_ids:
        return []
    rows = await s.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id.in_(endpoint_ids),
            WebhookEndpoint.status == "enabled",
            WebhookEndpoint.failing_since.isnot(None),
        )
        .values(status="disabled", disabled_reason=reason, updated_at=now)
        .returning(WebhookEndpoint.id, WebhookEndpoint.owner_id, WebhookEndpoint.url)
        .execution_options(synchronize_session=False)
    )
    return list(rows.all())


# -- reading, for the owner ----------------------------------------------------------------------


async def lock_owner_and_count_enabled(s: Any, owner_id: uuid.UUID) -> int:
    """Take the owner's endpoint lock (until the transaction ends) and count its enabled
    endpoints."""
    await lock_for_transaction(s, f"webhooks.endpoints:{owner_id}")
    found = await s.execute(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.owner_id == owner_id, WebhookEndpoint.status == "enabled")
    )
    return int(found.scalar_one())


async def endpoints_of(s: Any, owner_id: uuid.UUID) -> list[WebhookEndpoint]:
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.owner_id == owner_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list((await s.execute(query)).scalars())


async def endpoint_of(
    s: Any, owner_id: uuid.UUID, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint | None:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.owner_id == owner_id
    )
    if for_update:
        query = query.with_for_update()
    return (await s.execute(query)).scalar_one_or_none()


_DELIVERY_COLUMNS = (
    WebhookDelivery.id,
    WebhookDelivery.endpoint_id,
    WebhookDelivery.event_id,
    WebhookEvent.type.label("event_type"),
    WebhookDelivery.status,
    WebhookDelivery.attempts,
    WebhookDelivery.last_status_code,
    WebhookDelivery.last_error,
    WebhookDelivery.created_at,
    WebhookDelivery.next_attempt_at,
    WebhookDelivery.succeeded_at,
)


def _owned_deliveries(owner_id: uuid.UUID) -> Any:
    return (
        select(*_DELIVERY_COLUMNS)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookEndpoint.owner_id == owner_id)
    )


async def deliveries_of(
    s: Any,
    owner_id: uuid.UUID,
    *,
    endpoint_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    before_id: int | None,
) -> list[Row[Any]]:
    query = _owned_deliveries(owner_id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    query = query.order_by(WebhookDelivery.id.desc()).limit(limit)
    return list((await s.execute(query)).all())


async def delivery_of(s: Any, owner_id: uuid.UUID, delivery_id: int) -> Row[Any] | None:
    query = _owned_deliveries(owner_id).where(WebhookDelivery.id == delivery_id)
    return (await s.execute(query)).one_or_none()


async def event_payload(s: Any, event_id: str) -> dict[str, Any]:
    query = select(WebhookEvent.payload).where(WebhookEvent.id == event_id)
    return dict((await s.execute(query)).scalar_one())


async def attempts_of(s: Any, delivery_id: int) -> list[WebhookAttempt]:
    query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.attempt, WebhookAttempt.id)
    )
    return list((await s.execute(query)).scalars())


async def delivery_for_update(s: Any, delivery_id: int) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    return (await s.execute(query)).scalar_one_or_none()
