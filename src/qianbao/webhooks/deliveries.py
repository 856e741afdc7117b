"""The delivery log, as an owner reads it (dashboard, API), and sending a delivery again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qianbao.kernel.clock import Clock
from qianbao.kernel.errors import ValidationFailed
from qianbao.webhooks import repository as repo
from qianbao.webhooks.endpoints import as_uuid, get_endpoint
from qianbao.webhooks.errors import DeliveryNotFound, EndpointDisabled
from qianbao.webhooks.models import DELIVERY_STATUSES, WebhookAttempt

MAX_PAGE = 200


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    endpoint_id: uuid.UUID
    event_id: str  # the webhook-id
    event_type: str
    status: str  # pending, succeeded, failed
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    succeeded_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> DeliveryRow:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: DeliveryRow
    url: str  # where it goes (the endpoint's address now)
    payload: dict[str, Any]  # the body sent, exactly
    attempts: list[WebhookAttempt]  # oldest first


def _delivery_id(value: int | str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


async def list_deliveries(
    session: Any,
    owner_id: uuid.UUID,
    *,
    endpoint_id: uuid.UUID | str | None = None,
    status: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[DeliveryRow]:
    """The owner's deliveries, newest first; ``before_id`` (the last id of a page) pages on."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValidationFailed()
    endpoint = None
    if endpoint_id is not None:
        endpoint = as_uuid(endpoint_id)
        if endpoint is None:
            return []
    rows = await repo.deliveries_of(
        session,
        owner_id,
        endpoint_id=endpoint,
        status=status,
        limit=max(1, min(limit, MAX_PAGE)),
        before_id=before_id,
    )
    return [DeliveryRow.of(r) for r in rows]


async def _owned(session: Any, owner_id: uuid.UUID, delivery_id: int | str) -> DeliveryRow:
    number = _delivery_id(delivery_id)
    row = await repo.delivery_of(session, owner_id, number) if number is not None else None
    if row is None:
        raise DeliveryNotFound()
    return DeliveryRow.of(row)


async def delivery_detail(
    session: Any, owner_id: uuid.UUID, delivery_id: int | str
) -> DeliveryDetail:
    """One delivery of the owner with its event's body and every attempt."""
    delivery = await _owned(session, owner_id, delivery_id)
    endpoint = await get_endpoint(session, owner_id, delivery.endpoint_id)
    return DeliveryDetail(
        delivery=delivery,
        url=endpoint.url,
        payload=await repo.event_payload(session, delivery.event_id),
        attempts=await repo.attempts_of(session, delivery.id),
    )


async def resend(
    session: Any, clock: Clock, owner_id: uuid.UUID, delivery_id: int | str
) -> DeliveryRow:
    """Send a delivery again now, with the same ``webhook-id`` (receivers may have seen it):
    it becomes pending again; its attempts keep counting, so a delivery whose retries were
    exhausted gets one more try. Refused while its endpoint is disabled."""
    owned = await _owned(session, owner_id, delivery_id)
    endpoint = await get_endpoint(session, owner_id, owned.endpoint_id)
    if endpoint.status != "enabled":
        raise EndpointDisabled()
    delivery = await repo.delivery_for_update(session, owned.id)
    if delivery is None:  # pragma: no cover - deliveries are never deleted
        raise DeliveryNotFound()
    delivery.status = "pending"
    delivery.next_attempt_at = clock.now()
    delivery.succeeded_at = None
    await session.flush()
    return await _owned(session, owner_id, owned.id)
