"""Two-factor authentication with TOTP (pyotp): enrolment with a QR code (segno), recovery codes,
no reuse of an accepted code, and a step-up check other features can require."""

from __future__ import annotations

import hmac
import io
import secrets
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity import security
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import LoginLocked, TwoFactorInvalid, TwoFactorNotEnabled
from qianbao.identity.models import RecoveryCode, Session, User
from qianbao.identity.password_guard import locked_minutes, throttle
from qianbao.kernel.errors import DomainError
from qianbao.kernel.text import is_ascii_digits

ISSUER = "Qianbao"
RECOVERY_CODES = 10


@dataclass
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


def _totp(ctx: IdentityContext, user: User) -> pyotp.TOTP:
    if not user.totp_secret:
        raise TwoFactorNotEnabled()
    secret = ctx.totp_sealer.open(user.totp_secret, aad=str(user.id).encode()).decode()
    return pyotp.TOTP(secret)


async def start_enrolment(session: AsyncSession, ctx: IdentityContext, user: User) -> Enrolment:
    """A new secret (sealed at rest) to scan; 2FA is on only after ``confirm_enrolment``."""
    secret = pyotp.random_base32()
    user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
    user.totp_enabled_at = None
    user.totp_last_step = None
    await session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.phone, issuer_name=ISSUER)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", scale=5, border=2, xmldecl=False, svgns=True
    )
    return Enrolment(secret=secret, uri=uri, qr_svg=buffer.getvalue().decode())


def _accept(ctx: IdentityContext, user: User, code: str) -> int | None:
    """The time step the code belongs to (±1 step of drift), or None."""
    code = (code or "").strip().replace(" ", "")
    if not is_ascii_digits(code, 6):
        return None
    totp = _totp(ctx, user)
    now = ctx.clock.now()
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


async def confirm_enrolment(
    session: AsyncSession, ctx: IdentityContext, user: User, code: str, *, ip: str | None = None
) -> list[str]:
    step = _accept(ctx, user, code)
    if step is None:
        raise TwoFactorInvalid()
    user.totp_enabled_at = ctx.clock.now()
    user.totp_last_step = step
    codes = await _new_recovery_codes(session, ctx, user)
    await security.record(session, ctx, user, "two_factor_enabled", ip=ip)
    return codes


async def _new_recovery_codes(session: AsyncSession, ctx: IdentityContext, user: User) -> list[str]:
    await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=ctx.clock.now())
    )
    codes = [
        f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"
        for _ in range(RECOVERY_CODES)
    ]
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=ctx.keyed_hash("recovery", code)))
    await session.flush()
    return codes


async def verify_totp(session: AsyncSession, ctx: IdentityContext, user: User, code: str) -> None:
    """Accept a code once: a code (time step) already used cannot be used again."""
    if not user.two_factor_enabled:
        raise TwoFactorNotEnabled()
    step = _accept(ctx, user, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        raise TwoFactorInvalid()
    # Atomic against a parallel request presenting the same code.
    result = await session.execute(
        update(User)
        .where(User.id == user.id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
        .returning(User.id)
    )
    if result.first() is None:
        raise TwoFactorInvalid()
    user.totp_last_step = step


async def use_recovery_code(
    session: AsyncSession, ctx: IdentityContext, user: User, code: str
) -> None:
    normalized = (code or "").strip().lower()
    result = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash.in_(ctx.keyed_hashes("recovery", normalized)),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=ctx.clock.now())
        .returning(RecoveryCode.id)
    )
    if result.first() is None:
        raise TwoFactorInvalid()


def _throttle_key(user: User) -> str:
    return "2fa:" + user.phone  # its own counter: a right password does not clear it


async def verify_second_factor(
    session: AsyncSession, ctx: IdentityContext, user: User, code: str
) -> None:
    """An authenticator code, or one of the recovery codes (they contain dashes).

    Wrong codes are counted (on the side pool, kept when the request fails) under a key of
    their own that only a right code clears: after ``identity.login_max_failures`` of them the
    second factor is refused for ``login_lockout_minutes`` wherever it is asked — signing in,
    resetting the password, step-up, turning 2FA off, in place of an SMS code — so nobody who
    has the password (or a session) can try the million codes."""
    key = _throttle_key(user)
    minutes = await locked_minutes(session, ctx, key)
    if minutes is not None:
        raise LoginLocked(minutes=minutes)
    try:
        if "-" in (code or ""):
            await use_recovery_code(session, ctx, user, code)
        else:
            await verify_totp(session, ctx, user, code)
    except DomainError as exc:
        if isinstance(exc, TwoFactorNotEnabled):
            raise
        await throttle(ctx, key, failed=True)
        minutes = await locked_minutes(session, ctx, key)
        if minutes is not None:
            raise LoginLocked(minutes=minutes) from exc
        raise
    await throttle(ctx, key, failed=False)


async def confirm_instead_of_sms(
    session: AsyncSession, ctx: IdentityContext, user: User, code: str
) -> None:
    """An authenticator (or recovery) code in place of an SMS code — the way out when no SMS can
    be sent or received (issue 13, defect 7); counted like every second factor."""
    if not user.two_factor_enabled:
        raise TwoFactorNotEnabled()
    await verify_second_factor(session, ctx, user, code)


async def step_up(
    session: AsyncSession, ctx: IdentityContext, user: User, current: Session, code: str
) -> None:
    """'Confirm with your authenticator': marks the session as freshly verified for a few minutes
    (see ``sessions.step_up_fresh``), for large amounts and sensitive changes."""
    await verify_second_factor(session, ctx, user, code)
    current.step_up_at = ctx.clock.now()


async def disable(
    session: AsyncSession, ctx: IdentityContext, user: User, code: str, *, ip: str | None = None
) -> None:
    await verify_second_factor(session, ctx, user, code)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=ctx.clock.now())
    )
    await security.record(session, ctx, user, "two_factor_disabled", ip=ip)


async def remaining_recovery_codes(session: AsyncSession, user: User) -> int:
    rows = await session.execute(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(rows.all())
