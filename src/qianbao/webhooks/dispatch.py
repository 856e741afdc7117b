"""The dispatcher: due deliveries out, results in, never a pooled connection held across HTTP.

One round (``dispatch_due``):
1. claim: a short transaction locks up to ``batch_size`` due pending deliveries
   (``FOR UPDATE SKIP LOCKED``), leases them (``locked_until``) and reads what sending needs;
   it commits, so the rows are free again but the lease keeps other dispatchers away;
2. send: concurrently (at most ``concurrency`` at once), signed, each within ``timeout_s``;
3. record: one short transaction writes an attempt row per try and each delivery's new state.

Delivery is at least once: a dispatcher that dies between 2 and 3 leaves leased deliveries that
are sent again, with the same ``webhook-id``, once the lease ends (receivers deduplicate by
that id, as the spec asks). Any number of dispatchers may run (one per worker process): SKIP
LOCKED and the lease keep them apart without an advisory lock.

Retries follow ``retry_schedule_s`` (the wait after the first failure, after the second, ...)
plus up to 10% jitter, so endpoints coming back up are not hit by a synchronised wave. When the
schedule is exhausted the delivery is ``failed``. An endpoint records when it started failing
(``failing_since``, set by a failure after a success, cleared by any success); a delivery that
fails for good while its endpoint has been failing disables the endpoint, gives up its pending
deliveries (``last_error`` "endpoint disabled", no attempt: the owner may resend them after
enabling it again) and emits ``webhooks.endpoint_disabled`` (``{owner_id, endpoint_id, url,
at}``) to the outbox for the owner's domain to tell its owner. A claimed delivery whose
endpoint is disabled meanwhile is given up the same way.
"""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from qianbao.kernel import outbox
from qianbao.kernel.clock import Clock
from qianbao.kernel.crypto import Sealer, SealError
from qianbao.kernel.logging import get_logger
from qianbao.webhooks import repository as repo
from qianbao.webhooks import signing
from qianbao.webhooks.events import body_bytes
from qianbao.webhooks.reasons import DISABLED_FAILING, PENDING_GIVEN_UP
from qianbao.webhooks.sending import Outcome, Outgoing, send
from qianbao.webhooks.targets import make_client

log = get_logger(__name__)

ENDPOINT_DISABLED_TOPIC = "webhooks.endpoint_disabled"
JITTER = 0.10  # a retry waits its scheduled time plus up to 10%
LEASE_MARGIN_S = 30.0
_jitter = random.SystemRandom()


def lease_seconds(ws: Any) -> float:
    """How long a claimed batch stays ours: every send of the batch may take the full timeout,
    ``concurrency`` at a time, and the results still need recording."""
    return ws.timeout_s * math.ceil(ws.batch_size / ws.concurrency) + LEASE_MARGIN_S


def plan(attempt: int, ok: bool, now: datetime, schedule: list[int]) -> tuple[str, datetime | None]:
    """A delivery's status and next attempt after its try number ``attempt`` (1 = the first).
    Attempts keep counting across resends, so a resent exhausted delivery gets one more try."""
    if ok:
        return "succeeded", None
    if attempt <= len(schedule):
        wait = schedule[attempt - 1] * (1 + _jitter.uniform(0, JITTER))
        return "pending", now + timedelta(seconds=wait)
    return "failed", None


async def dispatch_due(
    db: Any, settings: Any, clock: Clock, *, client: httpx.AsyncClient | None = None
) -> int:
    """One round; returns how many deliveries it claimed (0: nothing was due)."""
    ws = settings.webhooks
    now = clock.now()
    lease = now + timedelta(seconds=lease_seconds(ws))
    async with db.transaction() as session:
        rows = await repo.claim_due(session, now=now, lease=lease, limit=ws.batch_size)
        given_up = [r.id for r in rows if r.endpoint_status != "enabled"]
        await repo.fail_deliveries(session, given_up, PENDING_GIVEN_UP)
    live = [r for r in rows if r.endpoint_status == "enabled"]
    if live:
        work, unsigned = _prepare(live, signing.sealer(settings), now)
        outcomes = unsigned + await _send_all(work, settings, clock, client)
        async with db.transaction() as session:
            await record(session, outcomes, clock.now(), ws.retry_schedule_s)
    return len(rows)


def _prepare(rows: list[Any], box: Sealer, now: datetime) -> tuple[list[Outgoing], list[Outcome]]:
    """What each claimed delivery sends, signed with the endpoint's secret (and the previous
    one while a rotation's overlap lasts). A secret that cannot be opened (its data key was
    removed) fails the attempt on our side, without sending."""
    keys: dict[uuid.UUID, tuple[str, ...] | None] = {}
    work: list[Outgoing] = []
    unsigned: list[Outcome] = []
    for r in rows:
        if r.endpoint_id not in keys:
            keys[r.endpoint_id] = _secrets(box, r, now)
        item = Outgoing(
            delivery_id=r.id,
            endpoint_id=r.endpoint_id,
            attempt=r.attempts + 1,
            msg_id=r.event_id,
            url=r.url,
            body=body_bytes(r.payload),
            secrets=keys[r.endpoint_id] or (),
        )
        if item.secrets:
            work.append(item)
        else:
            error = "cannot open the endpoint's signing secret"
            unsigned.append(Outcome(item, now, None, 0, error, None, ours=True))
    return work, unsigned


def _secrets(box: Sealer, row: Any, now: datetime) -> tuple[str, ...] | None:
    try:
        found = [signing.open_secret(box, row.endpoint_id, row.secret_sealed)]
        expires = row.previous_expires_at
        if row.previous_secret_sealed and expires is not None and expires > now:
            found.append(signing.open_secret(box, row.endpoint_id, row.previous_secret_sealed))
    except SealError:
        log.error("webhook_secret_unreadable", endpoint_id=str(row.endpoint_id))
        return None
    return tuple(found)


async def _send_all(
    work: list[Outgoing], settings: Any, clock: Clock, client: httpx.AsyncClient | None
) -> list[Outcome]:
    if not work:
        return []
    ws = settings.webhooks
    gate = asyncio.Semaphore(ws.concurrency)

    async def one(http: httpx.AsyncClient, item: Outgoing) -> Outcome:
        async with gate:
            return await send(http, item, clock, ws.timeout_s)

    if client is not None:
        return list(await asyncio.gather(*(one(client, item) for item in work)))
    async with make_client(settings) as own:
        return list(await asyncio.gather(*(one(own, item) for item in work)))


async def record(
    session: Any, outcomes: list[Outcome], now: datetime, schedule: list[int]
) -> list[uuid.UUID]:
    """Write the attempts and each delivery's new state; keep the endpoints' failure record
    and disable those that failed for good. Returns the ids of endpoints disabled now.

    Endpoint rows are locked before delivery rows (and in id order when a failure may change
    them), the same order as an owner disabling an endpoint, so the two never deadlock."""
    attempts: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    succeeded: set[uuid.UUID] = set()
    failed: set[uuid.UUID] = set()
    exhausted: set[uuid.UUID] = set()
    for o in outcomes:
        item = o.outgoing
        status, next_at = plan(item.attempt, o.ok, now, schedule)
        attempts.append(
            {
                "delivery_id": item.delivery_id,
                "attempt": item.attempt,
                "started_at": o.started_at,
                "status_code": o.status_code,
                "duration_ms": o.duration_ms,
                "error": o.error,
                "response_excerpt": o.excerpt,
            }
        )
        deliveries.append(
            {
                "d_id": item.delivery_id,
                "d_status": status,
                "d_attempts": item.attempt,
                "d_next": next_at,
                "d_status_code": o.status_code,
                "d_error": o.error,
                "d_succeeded_at": now if o.ok else None,
            }
        )
        if o.ok:
            succeeded.add(item.endpoint_id)
        elif not o.ours:
            failed.add(item.endpoint_id)
            if status == "failed":
                exhausted.add(item.endpoint_id)
    failed -= succeeded
    exhausted -= succeeded
    if failed:
        await repo.lock_endpoints(session, sorted(succeeded | failed))
    await repo.clear_failing(session, sorted(succeeded))
    disabled = await repo.disable_failing(session, sorted(exhausted), DISABLED_FAILING, now)
    await repo.mark_failing(session, sorted(failed), now)
    await repo.insert_attempts(session, attempts)
    await repo.record_deliveries(session, deliveries)
    if disabled:
        await repo.fail_pending_of(session, [row.id for row in disabled], PENDING_GIVEN_UP)
    for row in disabled:
        log.warning("webhook_endpoint_disabled", endpoint_id=str(row.id))
        payload = {
            "owner_id": str(row.owner_id),
            "endpoint_id": str(row.id),
            "url": row.url,
            "at": now.isoformat(),
        }
        await outbox.emit(session, ENDPOINT_DISABLED_TOPIC, payload)
    return [row.id for row in disabled]
