"""Every check of a user's password counts toward the same lockout as signing in (10 wrong
tries lock it for 30 minutes, settings ``identity.login_*``): the sign-in page, and the password
asked again inside a session — changing the PIN, the password or the number, unlocking the PIN,
unfreezing the account. A stolen session cannot guess the password without limit (issue 13,
defect 6). Failures are counted on the side pool, committed even when the request fails."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import LoginLocked, WrongPassword
from qianbao.identity.models import LoginThrottle, User
from qianbao.identity.passwords import verify_password


async def throttle(ctx: IdentityContext, phone: str, *, failed: bool) -> None:
    """Count a failure (or clear the count) in its own committed transaction."""
    cfg = ctx.settings.identity
    now = ctx.clock.now()
    async with ctx.db.side_transaction() as s:
        if not failed:
            await s.execute(
                LoginThrottle.__table__.delete().where(LoginThrottle.phone == phone)  # type: ignore[attr-defined]
            )
            return
        row = (
            await s.execute(
                insert(LoginThrottle)
                .values(phone=phone, failures=1, updated_at=now)
                .on_conflict_do_update(
                    index_elements=["phone"],
                    set_={"failures": LoginThrottle.failures + 1, "updated_at": now},
                )
                .returning(LoginThrottle.failures)
            )
        ).scalar_one()
        if row >= cfg.login_max_failures:
            await s.execute(
                LoginThrottle.__table__.update()  # type: ignore[attr-defined]
                .where(LoginThrottle.phone == phone)
                .values(locked_until=now + timedelta(minutes=cfg.login_lockout_minutes), failures=0)
            )


async def locked_minutes(session: AsyncSession, ctx: IdentityContext, phone: str) -> int | None:
    until = (
        await session.execute(
            select(LoginThrottle.locked_until).where(LoginThrottle.phone == phone)
        )
    ).scalar()
    now = ctx.clock.now()
    if until is not None and until > now:
        return max(1, int((until - now).total_seconds() // 60) + 1)
    return None


async def confirm_password(
    session: AsyncSession, ctx: IdentityContext, user: User, password: str
) -> None:
    """The signed-in user's password, asked again: refused while the sign-in is locked; a wrong
    one counts (and may lock sign-in as well)."""
    minutes = await locked_minutes(session, ctx, user.phone)
    if minutes is not None:
        raise LoginLocked(minutes=minutes)
    if await verify_password(user.password_hash, password or ""):
        return
    await throttle(ctx, user.phone, failed=True)
    minutes = await locked_minutes(session, ctx, user.phone)
    if minutes is not None:
        raise LoginLocked(minutes=minutes)
    raise WrongPassword()
