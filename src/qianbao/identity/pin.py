"""The payment PIN: six digits, separate from the login password, asked on every payment and
withdrawal. Stored as HMAC-SHA256(pepper, user id | PIN) where the pepper is a secret kept outside
the database (ADR 0007): a stolen database alone does not reveal PINs, and checking one costs
microseconds, cheap enough for the payment hot path. Five wrong tries lock it; unlocking needs
the login password and an SMS code.

The pepper can be rotated (``QIANBAO_IDENTITY__PIN_PEPPER`` as a list, newest first): a hash
records the id of the pepper that made it (``kernel.crypto.MacKeys``); a right PIN under an
older pepper is accepted and re-hashed with the newest one in the same step."""

from __future__ import annotations

import hmac
import uuid

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity import otp, security
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import (
    PinFormat,
    PinLocked,
    PinNotSet,
    WeakPin,
    WrongPin,
)
from qianbao.identity.models import User
from qianbao.identity.password_guard import confirm_password
from qianbao.kernel.crypto import MacKeys
from qianbao.kernel.db import driver_connection
from qianbao.kernel.text import is_ascii_digits

SEQUENCE = "01234567890"


def _macs(ctx: IdentityContext) -> MacKeys:
    return MacKeys(ctx.pin_peppers)


def _digest(ctx: IdentityContext, user_id: uuid.UUID, pin: str) -> bytes:
    """The stored form of a PIN: under the newest pepper, its id recorded."""
    return _macs(ctx).digest(f"{user_id}|{pin}".encode())


def check_pin_rules(pin: str, user: User) -> None:
    if not is_ascii_digits(pin, 6):
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
    """First PIN after sign-up; changing an existing PIN needs the login password. A locked PIN
    is not changed here: unlocking needs the password *and* an SMS code (``unlock``), so a
    stolen password alone cannot reset it (issue 13, defect 5)."""
    if user.pin_locked_at is not None:
        raise PinLocked()
    check_pin_rules(pin, user)
    changing = user.pin_hash is not None
    if changing:
        await confirm_password(session, ctx, user, password or "")
    user.pin_hash = _digest(ctx, user.id, pin)
    user.pin_failures = 0
    user.pin_locked_at = None
    await security.record(session, ctx, user, "pin_changed" if changing else "pin_set", ip=ip)


async def verify_pin(
    session: AsyncSession, ctx: IdentityContext, user_id: uuid.UUID, pin: str
) -> None:
    """The check every payment and withdrawal calls. Wrong tries are counted in their own
    committed transaction (a failed payment still uses one up); five lock the PIN."""
    async with ctx.db.side_transaction() as counter:
        user = (
            await counter.execute(select(User).where(User.id == user_id).with_for_update())
        ).scalar_one()
        if user.pin_hash is None:
            raise PinNotSet()
        if user.pin_locked_at is not None:
            raise PinLocked()
        macs = _macs(ctx)
        message = f"{user_id}|{pin}".encode()
        ok = isinstance(pin, str) and macs.matches(message, user.pin_hash)
        if ok:
            if user.pin_failures:
                user.pin_failures = 0
            if not macs.is_current(user.pin_hash):  # an older pepper: re-hash with the newest
                user.pin_hash = macs.digest(message)
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


PIN_ROW_LOCKED = """
SELECT pin_hash, pin_failures, pin_locked_at FROM users WHERE id = $1 FOR NO KEY UPDATE
"""


async def verify_pin_in_transaction(
    session: AsyncSession, ctx: IdentityContext, user: User, pin: str
) -> None:
    """``verify_pin`` for the payment hot path, without a second connection and transaction.

    ``user`` is the row read at the start of the request. When it shows a PIN that is set, not
    locked, with no failures counted, and ``pin`` matches it, the check is confirmed on the
    current row, locked in the caller's transaction (``FOR NO KEY UPDATE``, kept until it ends).
    Wrong tries lock that row too (in ``verify_pin``), so the check is ordered against them
    exactly as before: once five wrong tries are committed, a right PIN is refused as well.
    Anything else (a wrong PIN, failures to reset, a lock, a row changed meanwhile) goes through
    ``verify_pin``, which counts and commits on its own; the confirming read is done in a
    savepoint and rolled back first, so that it holds no lock ``verify_pin`` would wait for."""
    seen = inspect(user).dict  # what was loaded; never triggers a lazy load
    stored = seen.get("pin_hash")
    if (
        stored is None
        or seen.get("pin_locked_at", True) is not None
        or seen.get("pin_failures", 1) != 0
        or not isinstance(pin, str)
        or not hmac.compare_digest(stored, _digest(ctx, user.id, pin))
    ):
        await verify_pin(session, ctx, user.id, pin)
        return
    conn = await driver_connection(session)
    await conn.execute("SAVEPOINT qianbao_pin")
    row = await conn.fetchrow(PIN_ROW_LOCKED, user.id)
    if (
        row is not None
        and row["pin_hash"] is not None
        and row["pin_locked_at"] is None
        and row["pin_failures"] == 0
        and hmac.compare_digest(bytes(row["pin_hash"]), _digest(ctx, user.id, pin))
    ):
        return  # right, and the row stays locked until the caller's transaction ends
    await conn.execute("ROLLBACK TO SAVEPOINT qianbao_pin")  # releases the row lock
    await verify_pin(session, ctx, user.id, pin)


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
    await confirm_password(session, ctx, user, password)
    await otp.check_code(session, ctx, destination=user.phone, purpose="unlock_pin", code=code)
    user.pin_failures = 0
    user.pin_locked_at = None
    await security.record(session, ctx, user, "pin_unlocked", ip=ip)
