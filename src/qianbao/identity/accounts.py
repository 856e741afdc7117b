"""Sign-up, profile, e-mail verification, password changes and resets, staff creation."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity import otp, security, sessions
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import (
    EmailTaken,
    InvalidEmail,
    NotSignedIn,
    PhoneTaken,
    TermsNotAccepted,
    TwoFactorRequired,
)
from qianbao.identity.models import ROLES, Session, User
from qianbao.identity.password_guard import confirm_password
from qianbao.identity.passwords import check_password, hash_password
from qianbao.identity.phones import mask_phone, normalize_phone
from qianbao.identity.totp import verify_second_factor
from qianbao.kernel.translations import LOCALES


def normalize_email(raw: str) -> str:
    value = (raw or "").strip()
    local, at, domain = value.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(value) > 254
        or any(c.isspace() for c in value)
    ):
        raise InvalidEmail()
    return f"{local}@{domain.lower()}"


async def by_phone(session: AsyncSession, phone: str) -> User | None:
    return (await session.execute(select(User).where(User.phone == phone))).scalar_one_or_none()


async def by_id(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotSignedIn()
    return user


async def request_sign_up_code(
    session: AsyncSession, ctx: IdentityContext, *, phone_raw: str, ip: str | None, locale: str
) -> str:
    """Send a sign-up code. For a number that already has an account the answer is the same but
    no code is sent (the owner can reset the password): nothing tells the two cases apart."""
    phone = normalize_phone(phone_raw, ctx.settings.identity.default_region)
    exists = await by_phone(session, phone) is not None
    await otp.send_code(
        session, ctx, destination=phone, purpose="sign_up", ip=ip, locale=locale, deliver=not exists
    )
    return phone


async def sign_up(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    phone_raw: str,
    code: str,
    password: str,
    confirm: str | None = None,
    real_name: str | None = None,
    birthday: date | None = None,
    locale: str = "zh_CN",
    accept_terms: bool = False,
) -> User:
    """A new account. ``accept_terms``: the person ticked "I have read and agree to the user
    agreement and the privacy policy" (refused without it; the version is recorded)."""
    if not accept_terms:
        raise TermsNotAccepted()
    phone = normalize_phone(phone_raw, ctx.settings.identity.default_region)
    check_password(password, confirm=confirm, phone=phone, name=real_name, birthday=birthday)
    await otp.check_code(session, ctx, destination=phone, purpose="sign_up", code=code)
    if await by_phone(session, phone) is not None:
        raise PhoneTaken()
    user = User(
        phone=phone,
        password_hash=await hash_password(password),
        real_name=(real_name or None),
        birthday=birthday,
        locale=locale if locale in LOCALES else "zh_CN",
        password_changed_at=ctx.clock.now(),
        created_at=ctx.clock.now(),
        terms_version=ctx.settings.identity.terms_version,
        terms_accepted_at=ctx.clock.now(),
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a parallel sign-up with the same number won
        raise PhoneTaken() from exc
    await security.record(session, ctx, user, "signed_up")
    return user


async def create_staff(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    phone_raw: str,
    password: str,
    role: str,
    name: str | None,
) -> User:
    """Staff accounts are made by the CLI or an admin; they must enrol 2FA before working."""
    if role not in ROLES or role == "user":
        raise ValueError(f"role must be one of {ROLES[1:]}")
    phone = normalize_phone(phone_raw, ctx.settings.identity.default_region)
    check_password(password, phone=phone, name=name)
    if await by_phone(session, phone) is not None:
        raise PhoneTaken()
    user = User(phone=phone, password_hash=await hash_password(password), role=role, real_name=name)
    session.add(user)
    await session.flush()
    return user


async def change_password(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    current: Session,
    *,
    old_password: str,
    new_password: str,
    confirm: str,
    ip: str | None,
) -> None:
    """Changing the password ends every other session."""
    await confirm_password(session, ctx, user, old_password)
    check_password(
        new_password, confirm=confirm, phone=user.phone, name=user.real_name, birthday=user.birthday
    )
    user.password_hash = await hash_password(new_password)
    user.password_changed_at = ctx.clock.now()
    await sessions.revoke_all(session, ctx, user.id, except_id=current.id)
    await security.record(session, ctx, user, "password_changed", ip=ip)


async def request_reset(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    login: str,
    channel: str,
    ip: str | None,
    locale: str,
) -> None:
    """'Forgot password': a code by SMS (to the number) or by e-mail (to the verified address).
    Unknown numbers and addresses get the same answer and no message."""
    user: User | None
    if channel == "email":
        destination = normalize_email(login)
        user = (
            await session.execute(
                select(User).where(
                    func.lower(User.email) == destination.lower(),
                    User.email_verified_at.is_not(None),
                )
            )
        ).scalar_one_or_none()
    else:
        destination = normalize_phone(login, ctx.settings.identity.default_region)
        user = await by_phone(session, destination)
    await otp.send_code(
        session,
        ctx,
        destination=destination,
        purpose="reset_password",
        channel="email" if channel == "email" else "sms",
        ip=ip,
        locale=user.locale if user else locale,
        deliver=user is not None,
    )


async def reset_password(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    login: str,
    channel: str,
    code: str,
    new_password: str,
    confirm: str,
    second_factor: str | None,
    ip: str | None,
) -> User:
    """Set a new password with a code. If the user enrolled 2FA the reset also needs an
    authenticator or recovery code: a reset never bypasses 2FA. Every session ends."""
    if channel == "email":
        destination = normalize_email(login)
        user = (
            await session.execute(
                select(User).where(
                    func.lower(User.email) == destination.lower(),
                    User.email_verified_at.is_not(None),
                )
            )
        ).scalar_one_or_none()
    else:
        destination = normalize_phone(login, ctx.settings.identity.default_region)
        user = await by_phone(session, destination)
    await otp.check_code(session, ctx, destination=destination, purpose="reset_password", code=code)
    if user is None:  # a code can only exist for a known destination, but be safe
        raise NotSignedIn()
    check_password(
        new_password, confirm=confirm, phone=user.phone, name=user.real_name, birthday=user.birthday
    )
    if user.two_factor_enabled:
        if not second_factor:
            raise TwoFactorRequired()
        await verify_second_factor(session, ctx, user, second_factor)
    user.password_hash = await hash_password(new_password)
    user.password_changed_at = ctx.clock.now()
    await sessions.revoke_all(session, ctx, user.id)
    await security.record(session, ctx, user, "password_reset", ip=ip)
    return user


async def request_email_verification(
    session: AsyncSession, ctx: IdentityContext, user: User, *, email_raw: str, ip: str | None
) -> str:
    email = normalize_email(email_raw)
    taken = (
        await session.execute(
            select(User.id).where(func.lower(User.email) == email.lower(), User.id != user.id)
        )
    ).first()
    if taken:
        raise EmailTaken()
    await otp.send_code(
        session,
        ctx,
        destination=email,
        purpose="verify_email",
        channel="email",
        ip=ip,
        locale=user.locale,
    )
    return email


async def verify_email(
    session: AsyncSession, ctx: IdentityContext, user: User, *, email_raw: str, code: str
) -> None:
    email = normalize_email(email_raw)
    await otp.check_code(session, ctx, destination=email, purpose="verify_email", code=code)
    user.email = email
    user.email_verified_at = ctx.clock.now()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise EmailTaken() from exc
    await security.record(session, ctx, user, "email_verified")


async def request_phone_change(
    session: AsyncSession, ctx: IdentityContext, user: User, *, phone_raw: str, ip: str | None
) -> str:
    """Send a code to the new number (proves the user holds it)."""
    phone = normalize_phone(phone_raw, ctx.settings.identity.default_region)
    if phone == user.phone or await by_phone(session, phone) is not None:
        raise PhoneTaken()
    await otp.send_code(
        session, ctx, destination=phone, purpose="change_phone", ip=ip, locale=user.locale
    )
    return phone


async def change_phone(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    *,
    phone_raw: str,
    code: str,
    password: str,
    ip: str | None,
) -> None:
    """Move the account to a new number: the password, and the code sent to the new number. The
    old number is told (a security event that starts the cooling-off)."""
    phone = normalize_phone(phone_raw, ctx.settings.identity.default_region)
    await confirm_password(session, ctx, user, password)
    await otp.check_code(session, ctx, destination=phone, purpose="change_phone", code=code)
    if await by_phone(session, phone) is not None:
        raise PhoneTaken()
    await security.record(
        session, ctx, user, "phone_changed", ip=ip, details={"new_phone": mask_phone(phone)}
    )
    user.phone = phone
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise PhoneTaken() from exc


async def set_language(session: AsyncSession, user: User, code: str) -> bool:
    """The language of the user's SMS, e-mails and pages (one of LOCALES); False if unknown."""
    if code not in LOCALES:
        return False
    user.locale = code
    await session.flush()
    return True
