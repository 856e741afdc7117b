"""Signing in: number + password (+ authenticator code when enrolled), with a lockout after 10
failures for 30 minutes that answers the same for known and unknown numbers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity import security, sessions
from qianbao.identity.accounts import by_phone
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import InvalidPhoneNumber, LoginFailed, LoginLocked, NotSignedIn
from qianbao.identity.models import User
from qianbao.identity.password_guard import locked_minutes, throttle
from qianbao.identity.passwords import hash_password, needs_rehash, verify_password
from qianbao.identity.phones import normalize_phone
from qianbao.identity.totp import verify_second_factor
from qianbao.kernel.db import release_connection


@dataclass
class LoginResult:
    user: User
    new: sessions.NewSession
    needs_second_factor: bool


async def login(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    phone_raw: str,
    password: str,
    kind: str,
    ip: str | None,
    user_agent: str | None,
    device_token: str | None,
) -> LoginResult:
    try:
        phone = normalize_phone(phone_raw, ctx.settings.identity.default_region)
    except InvalidPhoneNumber:
        await verify_password(None, password)  # same work as a real check
        raise LoginFailed() from None
    minutes = await locked_minutes(session, ctx, phone)
    if minutes is not None:
        raise LoginLocked(minutes=minutes)
    user = await by_phone(session, phone)
    # Nothing is written yet: no pooled connection waits while the password is hashed (a burst
    # of sign-ins must not take the pool from everybody; issue 13, defect 2).
    await release_connection(session)
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        await throttle(ctx, phone, failed=True)
        minutes = await locked_minutes(session, ctx, phone)
        if minutes is not None:
            if user is not None:
                await security.record(session, ctx, user, "login_locked", ip=ip)
            raise LoginLocked(minutes=minutes)
        raise LoginFailed()
    await throttle(ctx, phone, failed=False)
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    second = user.two_factor_enabled
    new = await sessions.start(
        session,
        ctx,
        user,
        kind="pending_2fa" if second else kind,
        ip=ip,
        user_agent=user_agent,
        device_token=device_token,
    )
    return LoginResult(user=user, new=new, needs_second_factor=second)


async def complete_second_factor(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    pending_token: str,
    code: str,
    kind: str,
    ip: str | None,
    user_agent: str | None,
    device_token: str | None,
) -> LoginResult:
    """Trade a pending-2FA token and an authenticator (or recovery) code for a real session."""
    found = await sessions.resolve(session, ctx, pending_token, kinds=("pending_2fa",))
    if found is None:
        raise NotSignedIn()
    pending, user = found
    await verify_second_factor(session, ctx, user, code)
    await sessions.revoke(session, ctx, pending.id)
    new = await sessions.start(
        session, ctx, user, kind=kind, ip=ip, user_agent=user_agent, device_token=device_token
    )
    new.session.step_up_at = ctx.clock.now()
    return LoginResult(user=user, new=new, needs_second_factor=False)
