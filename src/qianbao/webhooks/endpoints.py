"""An owner's webhook endpoints: register, read, change, enable or disable, and the signing
secret (shown once at creation, revealed on request, rotated with an overlap).

The owner is a UUID and nothing more: the caller (merchants today) knows who it is and has
checked that the acting person may manage it. Another owner's endpoint is "not found"."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from qianbao.kernel.clock import Clock, clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.text import plain_text
from qianbao.webhooks import repository as repo
from qianbao.webhooks import signing
from qianbao.webhooks.errors import EndpointNotFound, TooManyEndpoints
from qianbao.webhooks.events import check_event_types
from qianbao.webhooks.models import WebhookEndpoint
from qianbao.webhooks.reasons import DISABLED_BY_OWNER, PENDING_GIVEN_UP
from qianbao.webhooks.targets import check_target

MAX_DESCRIPTION = 200
MAX_ENABLED_ENDPOINTS = 16


def _description(value: str | None) -> str | None:
    text = plain_text(value)[:MAX_DESCRIPTION]
    return text or None


def as_uuid(value: uuid.UUID | str) -> uuid.UUID | None:
    """An id from a caller (maybe a path segment): None when it is not a UUID at all."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def create_endpoint(
    session: Any,
    settings: Any,
    *,
    owner_id: uuid.UUID,
    url: str,
    event_types: list[str],
    description: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its new ``whsec_`` secret (show it to the owner)."""
    types = check_event_types(event_types)
    checked = await check_target(url, allow_private=settings.webhooks.allow_private_targets)
    await _room_for_one_more(session, owner_id)
    endpoint_id = uuid7()
    secret = signing.new_secret()
    now = clock_of(session).now()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        owner_id=owner_id,
        url=checked,
        description=_description(description),
        event_types=types,
        status="enabled",
        secret_sealed=signing.seal_secret(signing.sealer(settings), endpoint_id, secret),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def _room_for_one_more(session: Any, owner_id: uuid.UUID) -> None:
    """At most ``MAX_ENABLED_ENDPOINTS`` enabled per owner (each one is a delivery per event);
    the owner's creations and re-enablings are taken one at a time, so two at once cannot both
    take the last place."""
    if await repo.lock_owner_and_count_enabled(session, owner_id) >= MAX_ENABLED_ENDPOINTS:
        raise TooManyEndpoints(limit=MAX_ENABLED_ENDPOINTS)


async def list_endpoints(session: Any, owner_id: uuid.UUID) -> list[WebhookEndpoint]:
    return await repo.endpoints_of(session, owner_id)


async def get_endpoint(
    session: Any, owner_id: uuid.UUID, endpoint_id: uuid.UUID | str, *, for_update: bool = False
) -> WebhookEndpoint:
    found_id = as_uuid(endpoint_id)
    found = (
        await repo.endpoint_of(session, owner_id, found_id, for_update=for_update)
        if found_id is not None
        else None
    )
    if found is None:
        raise EndpointNotFound()
    return found


async def update_endpoint(
    session: Any,
    settings: Any,
    owner_id: uuid.UUID,
    endpoint_id: uuid.UUID | str,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given (``None``: unchanged; ``description=""`` clears it). Enabling
    clears the failure record; disabling gives up the endpoint's pending deliveries (the owner
    may resend them once it is enabled again)."""
    types = check_event_types(event_types) if event_types is not None else None
    checked = None
    if url is not None:  # the name is resolved before the endpoint's row is locked
        allow_private = settings.webhooks.allow_private_targets
        checked = await check_target(url, allow_private=allow_private)
    endpoint = await get_endpoint(session, owner_id, endpoint_id, for_update=True)
    if checked is not None:
        endpoint.url = checked
    if types is not None:
        endpoint.event_types = types
    if description is not None:
        endpoint.description = _description(description)
    if enabled is True and endpoint.status != "enabled":
        await _room_for_one_more(session, owner_id)
        endpoint.status, endpoint.disabled_reason, endpoint.failing_since = "enabled", None, None
    elif enabled is False and endpoint.status != "disabled":
        endpoint.status, endpoint.disabled_reason = "disabled", DISABLED_BY_OWNER
        await session.flush()
        await repo.fail_pending_of(session, [endpoint.id], PENDING_GIVEN_UP)
    endpoint.updated_at = clock_of(session).now()
    await session.flush()
    return endpoint


async def reveal_secret(
    session: Any, settings: Any, owner_id: uuid.UUID, endpoint_id: uuid.UUID | str
) -> str:
    """The endpoint's current signing secret (the one the owner's receiver should verify with)."""
    endpoint = await get_endpoint(session, owner_id, endpoint_id)
    return signing.open_secret(signing.sealer(settings), endpoint.id, endpoint.secret_sealed)


async def rotate_secret(
    session: Any,
    settings: Any,
    clock: Clock,
    owner_id: uuid.UUID,
    endpoint_id: uuid.UUID | str,
    overlap_hours: float = 24,
) -> str:
    """A new secret, returned once. The old one keeps signing beside it for ``overlap_hours``
    (the receiver switches in between); a secret older than that is dropped now."""
    endpoint = await get_endpoint(session, owner_id, endpoint_id, for_update=True)
    box = signing.sealer(settings)
    secret = signing.new_secret()
    now = clock.now()
    if overlap_hours > 0:
        endpoint.previous_secret_sealed = endpoint.secret_sealed
        endpoint.previous_expires_at = now + timedelta(hours=overlap_hours)
    else:
        endpoint.previous_secret_sealed, endpoint.previous_expires_at = None, None
    endpoint.secret_sealed = signing.seal_secret(box, endpoint.id, secret)
    endpoint.updated_at = now
    await session.flush()
    return secret
