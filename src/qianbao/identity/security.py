"""Security events (new device, password reset, phone or PIN change, ...): recorded, notified to
the user, and some of them start a cooling-off period during which the wallet blocks withdrawals
to newly bound cards."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity.context import IdentityContext
from qianbao.identity.models import SecurityEvent, User
from qianbao.notifications import request as request_notification

# kind -> (starts cooling-off, notification template or None)
EVENTS: dict[str, tuple[bool, str | None]] = {
    "signed_up": (False, None),
    "new_device": (True, "security.new_device"),
    "password_changed": (False, "security.password_changed"),
    "password_reset": (True, "security.password_reset"),
    "phone_changed": (True, "security.phone_changed"),
    "pin_set": (False, None),
    "pin_changed": (True, "security.pin_changed"),
    "pin_locked": (False, None),
    "pin_unlocked": (False, None),
    "two_factor_enabled": (False, "security.two_factor_changed"),
    "two_factor_disabled": (True, "security.two_factor_changed"),
    "passkey_added": (False, None),
    "passkey_removed": (False, None),
    "login_locked": (False, None),
    "session_revoked": (False, None),
    "account_frozen": (False, "security.account_frozen"),
    "account_unfrozen": (False, "security.account_unfrozen"),
    "account_unfrozen_by_staff": (True, "security.account_unfrozen"),
    "email_verified": (False, None),
    "card_added": (False, None),  # binding needs the PIN and an SMS code already
    "card_removed": (False, None),
    "kyc_refused": (False, None),  # a refused tier-1 attempt (counted: kyc.basic_attempts)
}


async def record(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    kind: str,
    *,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> SecurityEvent:
    cooling, template = EVENTS[kind]
    event = SecurityEvent(
        user_id=user.id,
        kind=kind,
        starts_cooling_off=cooling,
        ip=ip,
        details=details or {},
        created_at=ctx.clock.now(),
    )
    session.add(event)
    await session.flush()
    if template:
        await request_notification(
            session,
            channel="sms",
            to=user.phone,
            template=template,
            locale=user.locale,
            params={k: v for k, v in (details or {}).items() if isinstance(v, str | int)},
            secret_params=None,
            sealer=ctx.outbox_sealer,
        )
    return event


async def recent_events(
    session: AsyncSession, user_id: uuid.UUID, limit: int = 20
) -> list[SecurityEvent]:
    rows = await session.execute(
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user_id)
        .order_by(SecurityEvent.created_at.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def cooling_off_until(
    session: AsyncSession, ctx: IdentityContext, user_id: uuid.UUID
) -> datetime | None:
    """When the current cooling-off ends (None if none is running). The wallet refuses
    withdrawals to cards bound after such an event until then."""
    hours = ctx.settings.identity.cooling_off_hours
    since = ctx.clock.now() - timedelta(hours=hours)
    latest = (
        await session.execute(
            select(SecurityEvent.created_at)
            .where(
                SecurityEvent.user_id == user_id,
                SecurityEvent.starts_cooling_off.is_(True),
                SecurityEvent.created_at > since,
            )
            .order_by(SecurityEvent.created_at.desc())
            .limit(1)
        )
    ).scalar()
    return latest + timedelta(hours=hours) if latest else None
