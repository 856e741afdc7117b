"""Sessions (opaque tokens, stored hashed, revocable) and devices (a long-lived device cookie;
a device never seen for this user is a security event)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity import security
from qianbao.identity.context import IdentityContext, token_hash
from qianbao.identity.models import Device, Session, User

PENDING_2FA_MINUTES = 10
TOUCH_EVERY = timedelta(minutes=5)


@dataclass
class NewSession:
    token: str
    session: Session
    device_token: str
    new_device: bool


def device_name(user_agent: str | None) -> str:
    if not user_agent:
        return "Unknown device"
    try:
        from ua_parser import parse

        result = parse(user_agent)
        browser = result.user_agent.family if result.user_agent else None
        os_name = result.os.family if result.os else None
        label = " · ".join(x for x in (browser, os_name) if x and x != "Other")
        return label[:200] or "Unknown device"
    except Exception:
        return "Unknown device"


async def _device(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    device_token: str | None,
    ip: str | None,
    user_agent: str | None,
) -> tuple[Device, str, bool]:
    now = ctx.clock.now()
    if device_token:
        found = (
            await session.execute(
                select(Device).where(
                    Device.user_id == user.id, Device.token_hash == token_hash(device_token)
                )
            )
        ).scalar_one_or_none()
        if found is not None:
            found.last_seen_at = now
            found.last_ip = ip
            return found, device_token, False
    token = device_token or secrets.token_urlsafe(32)
    device = Device(
        user_id=user.id,
        token_hash=token_hash(token),
        name=device_name(user_agent),
        first_seen_at=now,
        last_seen_at=now,
        last_ip=ip,
    )
    session.add(device)
    await session.flush()
    return device, token, True


async def start(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    *,
    kind: str,
    ip: str | None,
    user_agent: str | None,
    device_token: str | None,
) -> NewSession:
    """Open a session (a fresh token every login: no fixation) and note the device."""
    now = ctx.clock.now()
    device, dev_token, new_device = await _device(session, ctx, user, device_token, ip, user_agent)
    has_earlier_devices = (
        new_device
        and (
            await session.execute(
                select(Device.id).where(Device.user_id == user.id, Device.id != device.id).limit(1)
            )
        ).first()
        is not None
    )
    lifetime = (
        timedelta(minutes=PENDING_2FA_MINUTES)
        if kind == "pending_2fa"
        else timedelta(days=ctx.settings.identity.session_days)
    )
    token = secrets.token_urlsafe(32)
    row = Session(
        user_id=user.id,
        token_hash=token_hash(token),
        kind=kind,
        device_id=device.id,
        ip=ip,
        user_agent=(user_agent or "")[:300],
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    await session.flush()
    if has_earlier_devices and kind != "pending_2fa":
        await security.record(
            session, ctx, user, "new_device", ip=ip, details={"device": device.name}
        )
    return NewSession(token, row, dev_token, new_device)


# Built once: resolving the caller is on every authenticated request.
_RESOLVE = (
    select(Session, User)
    .join(User, User.id == Session.user_id)
    .where(
        Session.token_hash == bindparam("token_hash"),
        Session.revoked_at.is_(None),
        Session.expires_at > bindparam("now"),
        Session.kind.in_(bindparam("kinds", expanding=True)),
    )
)


async def resolve(
    session: AsyncSession,
    ctx: IdentityContext,
    token: str | None,
    *,
    kinds: tuple[str, ...] = ("web", "api"),
) -> tuple[Session, User] | None:
    if not token or len(token) > 200:
        return None
    now = ctx.clock.now()
    row = (
        await session.execute(
            _RESOLVE, {"token_hash": token_hash(token), "now": now, "kinds": list(kinds)}
        )
    ).first()
    if row is None:
        return None
    sess, user = row
    if now - sess.last_seen_at > TOUCH_EVERY:
        sess.last_seen_at = now
    return sess, user


async def revoke(session: AsyncSession, ctx: IdentityContext, session_id: uuid.UUID) -> None:
    await session.execute(
        update(Session)
        .where(Session.id == session_id, Session.revoked_at.is_(None))
        .values(revoked_at=ctx.clock.now())
    )


async def revoke_all(
    session: AsyncSession,
    ctx: IdentityContext,
    user_id: uuid.UUID,
    *,
    except_id: uuid.UUID | None = None,
) -> None:
    stmt = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if except_id is not None:
        stmt = stmt.where(Session.id != except_id)
    await session.execute(stmt.values(revoked_at=ctx.clock.now()))


async def active_sessions(
    session: AsyncSession, ctx: IdentityContext, user_id: uuid.UUID
) -> list[tuple[Session, Device | None]]:
    rows = await session.execute(
        select(Session, Device)
        .outerjoin(Device, Device.id == Session.device_id)
        .where(
            Session.user_id == user_id,
            Session.revoked_at.is_(None),
            Session.expires_at > ctx.clock.now(),
            Session.kind.in_(("web", "api")),
        )
        .order_by(Session.last_seen_at.desc())
    )
    return [(s, d) for s, d in rows.all()]


async def revoke_own(
    session: AsyncSession, ctx: IdentityContext, user: User, session_id: uuid.UUID
) -> bool:
    """Log out one of the user's own sessions; another user's id is simply not found."""
    result = await session.execute(
        update(Session)
        .where(Session.id == session_id, Session.user_id == user.id, Session.revoked_at.is_(None))
        .values(revoked_at=ctx.clock.now())
        .returning(Session.id)
    )
    return result.first() is not None


def step_up_fresh(sess: Session, now: datetime, minutes: int = 10) -> bool:
    return sess.step_up_at is not None and now - sess.step_up_at < timedelta(minutes=minutes)
