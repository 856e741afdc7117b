"""One-time codes: 6 digits from ``secrets``, valid 5 minutes, single use, stored as a keyed hash,
bound to a destination (phone or e-mail) and a purpose, at most 5 checks per code, a resend
cool-down, a budget of sends per destination *and purpose* an hour (so the codes of sign-up and
card binding never use up the withdrawal's or the unfreeze's — issue 13, defect 7), a larger cap
for the destination over all purposes, and a per-IP cap. A refusal says when to ask again.

Checks are counted atomically (``UPDATE … SET checks = checks + 1 … WHERE checks < max``), so 100
parallel wrong guesses evaluate at most 5.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import CodeCooldown, CodeInvalid, CodeSendLimit, CodeTooManyChecks
from qianbao.identity.models import OneTimeCode
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.text import is_ascii_digits
from qianbao.notifications import request as request_notification

PURPOSES = (
    "sign_up",
    "login",
    "reset_password",
    "verify_email",
    "change_phone",
    "unlock_pin",
    "unfreeze",
    "bind_card",
    "withdraw",
    "pay_step_up",  # a payment the risk rules want confirmed: bound to its amount and payee
    "confirm_hold",  # "Was this you?": the answer Yes for one held payment
)
Channel = Literal["sms", "email"]


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def send_code(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    destination: str,
    purpose: str,
    channel: Channel = "sms",
    ip: str | None = None,
    locale: str = "zh_CN",
    deliver: bool = True,
    params: dict[str, str] | None = None,
    context: str | None = None,
) -> None:
    """Issue a code and queue its delivery (after commit, through the outbox).

    ``params`` fill the message (a withdrawal's amount); ``context`` binds the code to what it
    confirms (the amount and the card): the code only works with the same context.

    With ``deliver=False`` the limits are applied and a code row is written but nothing is sent:
    used when the destination must not learn anything (an unknown number asking for a reset),
    so that the answer and the timing are the same as for a known one."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    cfg = ctx.settings.identity
    now = ctx.clock.now()
    # Serialise sends to one destination so the limits cannot be raced past.
    await lock_for_transaction(session, "otp:" + destination)
    last = (
        await session.execute(
            select(OneTimeCode.created_at)
            .where(OneTimeCode.destination == destination, OneTimeCode.purpose == purpose)
            .order_by(OneTimeCode.created_at.desc())
            .limit(1)
        )
    ).scalar()
    if last is not None and (now - last).total_seconds() < cfg.otp_resend_cooldown_s:
        wait = cfg.otp_resend_cooldown_s - int((now - last).total_seconds())
        raise CodeCooldown(seconds=max(1, wait))
    hour_ago = now - timedelta(hours=1)
    budgets = [
        (
            cfg.otp_max_sends_per_purpose_hour,
            (OneTimeCode.destination == destination, OneTimeCode.purpose == purpose),
        ),
        (cfg.otp_max_sends_per_number_hour, (OneTimeCode.destination == destination,)),
    ]
    if ip:
        budgets.append((cfg.otp_max_sends_per_ip_hour, (OneTimeCode.ip == ip,)))
    for limit, where in budgets:
        sent, oldest = (
            await session.execute(
                select(func.count(), func.min(OneTimeCode.created_at)).where(
                    *where, OneTimeCode.created_at > hour_ago
                )
            )
        ).one()
        if sent >= limit:
            # The window frees a send when its oldest send is an hour old.
            free_in = (oldest + timedelta(hours=1) - now).total_seconds()
            raise CodeSendLimit(minutes=max(1, -(-int(free_in) // 60)))
    # Earlier codes for the same purpose stop working: only the newest is valid.
    await session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.destination == destination,
            OneTimeCode.purpose == purpose,
            OneTimeCode.consumed_at.is_(None),
        )
        .values(consumed_at=now)
    )
    code = new_code()
    session.add(
        OneTimeCode(
            destination=destination,
            purpose=purpose,
            code_hash=ctx.keyed_hash("otp", _material(destination, purpose, context, code)),
            ip=ip,
            created_at=now,
            expires_at=now + timedelta(seconds=cfg.otp_ttl_s),
        )
    )
    await session.flush()
    if deliver:
        await request_notification(
            session,
            channel=channel,
            to=destination,
            template=f"otp.{purpose}",
            locale=locale,
            params={"minutes": cfg.otp_ttl_s // 60, **(params or {})},
            secret_params={"code": code},
            sealer=ctx.outbox_sealer,
        )


@dataclass(frozen=True)
class LiveCode:
    """The code the destination was last sent for a purpose, while it can still be typed."""

    expires_in_s: int
    resend_in_s: int  # 0: a new one may be asked for now (as far as the cool-down goes)


async def live_code(
    session: AsyncSession, ctx: IdentityContext, *, destination: str, purpose: str
) -> LiveCode | None:
    """So a page can bring back the step where the code is typed (with a count-down to the next
    send) instead of a dead end when the user comes back or asks again too soon."""
    now = ctx.clock.now()
    cfg = ctx.settings.identity
    row = (
        await session.execute(
            select(OneTimeCode.created_at, OneTimeCode.expires_at)
            .where(
                OneTimeCode.destination == destination,
                OneTimeCode.purpose == purpose,
                OneTimeCode.consumed_at.is_(None),
                OneTimeCode.expires_at > now,
                OneTimeCode.checks < cfg.otp_max_checks,
            )
            .order_by(OneTimeCode.created_at.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    created, expires = row
    since = (now - created).total_seconds()
    return LiveCode(
        expires_in_s=max(1, int((expires - now).total_seconds())),
        resend_in_s=max(0, int(cfg.otp_resend_cooldown_s - since)),
    )


def _material(destination: str, purpose: str, context: str | None, code: str) -> str:
    if context is None:
        return f"{destination}|{purpose}|{code}"
    return f"{destination}|{purpose}|{context}|{code}"


async def check_code(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    destination: str,
    purpose: str,
    code: Any,
    context: str | None = None,
) -> None:
    """Consume the code if it is right; raise otherwise. Every check counts, right or wrong."""
    now = ctx.clock.now()
    cfg = ctx.settings.identity
    # The check is counted in its own transaction, committed at once: a wrong guess fails the
    # request (and rolls back its work) but still uses up one of the code's checks.
    async with ctx.db.side_transaction() as counter:
        counted = (
            await counter.execute(
                update(OneTimeCode)
                .where(
                    OneTimeCode.id
                    == select(OneTimeCode.id)
                    .where(
                        OneTimeCode.destination == destination,
                        OneTimeCode.purpose == purpose,
                        OneTimeCode.consumed_at.is_(None),
                        OneTimeCode.expires_at > now,
                    )
                    .order_by(OneTimeCode.created_at.desc())
                    .limit(1)
                    .scalar_subquery(),
                    OneTimeCode.checks < cfg.otp_max_checks,
                )
                .values(checks=OneTimeCode.checks + 1)
                .returning(OneTimeCode.id, OneTimeCode.code_hash, OneTimeCode.checks)
            )
        ).first()
    if counted is None:
        # Either no live code, or its checks are used up: find out which for the message.
        exhausted = (
            await session.execute(
                select(OneTimeCode.id).where(
                    OneTimeCode.destination == destination,
                    OneTimeCode.purpose == purpose,
                    OneTimeCode.consumed_at.is_(None),
                    OneTimeCode.expires_at > now,
                    OneTimeCode.checks >= cfg.otp_max_checks,
                )
            )
        ).first()
        raise CodeTooManyChecks() if exhausted else CodeInvalid()
    code_id, stored, _ = counted
    candidate = str(code).strip() if code is not None else ""
    material = _material(destination, purpose, context, candidate)
    if not (is_ascii_digits(candidate, 6) and ctx.keyed_matches("otp", material, stored)):
        raise CodeInvalid()
    consumed = await session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.id == code_id, OneTimeCode.consumed_at.is_(None))
        .values(consumed_at=now)
        .returning(OneTimeCode.id)
    )
    if consumed.first() is None:  # a parallel request used it first: single use
        raise CodeInvalid()
