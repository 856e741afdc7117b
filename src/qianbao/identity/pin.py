"""The payment PIN: six digits, separate from the login password, asked on every payment and
withdrawal. Stored as HMAC-SHA256(pepper, user id | PIN) where the pepper is a secret kept outside
the database (ADR 0007): a stolen database alone does not reveal PINs, and checking one costs
microseconds, cheap enough for the payment hot path. Five wrong tries lock it; unlocking needs
the login password and an SMS code."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity import otp, security
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import (
    PinFormat,
    PinLocked,
    PinNotSet,
    WeakPin,
    WrongPassword,
    WrongPin,
)
from qianbao.identity.models import User
from qianbao.identity.passwords import verify_password

SEQUENCE = "01234567890"


def _digest(ctx: IdentityContext, user_id: uuid.UUID, pin: str) -> bytes:
    return hmac.new(ctx.pin_pepper, f"{user_id}|{pin}".encode(), hashlib.sha256).digest()


def check_pin_rules(pin: str, user: User) -> None:
    if not (isinstance(pin, str) and len(pin) == 6 and pin.isdigit()):
        raise PinFormat()
    trivial = (
        len(set(pin)) <= 2
        or pin in SEQUENCE
        or pin in SEQUENCE[::-1]
        or pin[:3] == pin[3:]
        or pin in user.phone
    )
    if user.birthday:
        b = user.birthday
        trivial = trivial or pin in {
            b.strftime("%y%m%d"),
            b.strftime("%m%d%y"),
            b.strftime("%d%m%y"),
            b.strftime("%Y%m%d")[2:],
            b.strftime("%Y")[2:] + b.strftime("%m%d"),
        }
    if trivial:
        raise WeakPin()


async def set_pin(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    pin: str,
    *,
    password: str | None = None,
    ip: str | None = None,
) -> None:
    """First PIN after sign-up; changing an existing PIN needs the login password."""
    check_pin_rules(pin, user)
    changing = user.pin_hash is not None
    if changing and not await verify_password(user.password_hash, password or ""):
        raise WrongPassword()
    user.pin_hash = _digest(ctx, user.id, pin)
    user.pin_failures = 0
    user.pin_locked_at = None
    await security.record(session, ctx, user, "pin_changed" if changing else "pin_set", ip=ip)


async def verify_pin(
    session: AsyncSession, ctx: IdentityContext, user_id: uuid.UUID, pin: str
) -> None:
    """The check every payment and withdrawal calls. Wrong tries are counted in their own
    committed transaction (a failed payment still uses one up); five lock the PIN."""
    async with ctx.db.transaction() as counter:
        user = (
            await counter.execute(select(User).where(User.id == user_id).with_for_update())
        ).scalar_one()
        if user.pin_hash is None:
            raise PinNotSet()
        if user.pin_locked_at is not None:
            raise PinLocked()
        ok = isinstance(pin, str) and hmac.compare_digest(user.pin_hash, _digest(ctx, user_id, pin))
        if ok:
            if user.pin_failures:
                user.pin_failures = 0
            return
        user.pin_failures += 1
        remaining = ctx.settings.identity.pin_max_failures - user.pin_failures
        if remaining <= 0:
            user.pin_locked_at = ctx.clock.now()
            await security.record(counter, ctx, user, "pin_locked")
            await counter.commit()
            raise PinLocked()
        await counter.commit()
        raise WrongPin(remaining=remaining)


async def request_unlock_code(
    session: AsyncSession, ctx: IdentityContext, user: User, *, ip: str | None
) -> None:
    await otp.send_code(
        session, ctx, destination=user.phone, purpose="unlock_pin", ip=ip, locale=user.locale
    )


async def unlock(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    *,
    password: str,
    code: str,
    ip: str | None,
) -> None:
    if not await verify_password(user.password_hash, password):
        raise WrongPassword()
    await otp.check_code(session, ctx, destination=user.phone, purpose="unlock_pin", code=code)
    user.pin_failures = 0
    user.pin_locked_at = None
    await security.record(session, ctx, user, "pin_unlocked", ip=ip)
