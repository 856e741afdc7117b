"""Freezing an account (A9): in one step by the user (no password: speed matters when a phone
is lost), or by support/admins with a reason. A frozen user can sign in and read, but money
cannot move: every ledger account the user owns is frozen too, and the ledger refuses. Unfreezing
needs the password and an SMS code, or a supervisor (who starts the cooling-off)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity import otp, security, totp
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import Forbidden, FrozenBySupport, NotFrozen
from qianbao.identity.models import STAFF_ROLES, User
from qianbao.identity.password_guard import confirm_password
from qianbao.ledger import Ledger, accounts

UNFREEZE_ROLES = ("supervisor", "admin")


async def _set_ledger_status(session: AsyncSession, user: User, status: str) -> None:
    ledger = await Ledger.of_session(session)
    for account in await accounts.accounts_of_owner(ledger.conn, user.id):
        if account.status != "closed" and account.status != status:
            await accounts.set_status(ledger.conn, account.id, status)


async def freeze(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    *,
    by: User | None = None,
    reason: str = "",
    ip: str | None = None,
    outgoing_only: bool = False,
) -> None:
    """``outgoing_only``: money may still come in (a refund, a claim's recovered money) but
    nothing leaves — what "freeze my account" means when a customer reports fraud."""
    if by is not None and by.id != user.id and by.role not in STAFF_ROLES:
        raise Forbidden()
    if user.frozen_at is None:
        user.frozen_at = ctx.clock.now()
    user.frozen_reason = (reason or ("self" if by is None or by.id == user.id else ""))[:500]
    user.frozen_by = by.id if by is not None else user.id
    await _set_ledger_status(session, user, "debit_frozen" if outgoing_only else "frozen")
    await security.record(
        session,
        ctx,
        user,
        "account_frozen",
        ip=ip,
        details={"by": "staff" if by is not None and by.id != user.id else "self"},
    )


async def request_unfreeze_code(
    session: AsyncSession, ctx: IdentityContext, user: User, *, ip: str | None
) -> None:
    if user.frozen_at is None:
        raise NotFrozen()
    await otp.send_code(
        session, ctx, destination=user.phone, purpose="unfreeze", ip=ip, locale=user.locale
    )


async def unfreeze(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    *,
    password: str,
    code: str | None,
    ip: str | None,
    authenticator_code: str | None = None,
) -> None:
    """The password and the SMS code, or the password and an authenticator code (the way out
    when no SMS can be had)."""
    if user.frozen_at is None:
        raise NotFrozen()
    if user.frozen_by is not None and user.frozen_by != user.id:
        raise FrozenBySupport()
    await confirm_password(session, ctx, user, password)
    if authenticator_code and not code:
        await totp.confirm_instead_of_sms(session, ctx, user, authenticator_code)
    else:
        await otp.check_code(session, ctx, destination=user.phone, purpose="unfreeze", code=code)
    user.frozen_at = None
    user.frozen_reason = None
    user.frozen_by = None
    await _set_ledger_status(session, user, "active")
    await security.record(session, ctx, user, "account_unfrozen", ip=ip)


async def unfreeze_by_staff(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    *,
    by: User,
    ip: str | None = None,
) -> None:
    """A supervisor or admin lifts a freeze (their own team's, or the customer's when the phone
    that would receive the code is lost), after checking who is asking. Because it bypasses the
    password and the SMS code, it starts the cooling-off like a password reset does."""
    if by.role not in UNFREEZE_ROLES or by.id == user.id:
        raise Forbidden()
    if user.frozen_at is None:
        raise NotFrozen()
    user.frozen_at = None
    user.frozen_reason = None
    user.frozen_by = None
    await _set_ledger_status(session, user, "active")
    await security.record(
        session,
        ctx,
        user,
        "account_unfrozen_by_staff",
        ip=ip,
        details={"by": "staff"},  # the reason stays in the staff audit log
    )


def is_frozen(user: User) -> bool:
    return user.frozen_at is not None
