"""Applying the risk limits to the wallet: usage so far this day and month (China calendar),
checked under a per-user lock in the same transaction as the posting, so two transfers cannot
both squeeze under the limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.money import Money
from qianbao.risk import restrictions
from qianbao.risk.limits import REASONS, Decision, Limit, LimitExceeded, Usage, decide
from qianbao.risk.repository import get_limit
from qianbao.wallet.models import WalletTransaction

KIND_FOR_CHANNEL = {
    "transfer": "transfer",
    "topup": "topup",
    "withdrawal": "withdrawal",
    "payment": "payment",
}


async def usage(
    session: Any, user_id: uuid.UUID, channel: str, currency: str, now: datetime
) -> Usage:
    local = now.astimezone(LOCAL_TZ)
    day_start = datetime.combine(local.date(), time.min, tzinfo=LOCAL_TZ)
    month_start = day_start.replace(day=1)
    base = (
        WalletTransaction.user_id == user_id,
        WalletTransaction.kind == KIND_FOR_CHANNEL[channel],
        WalletTransaction.direction == ("in" if channel == "topup" else "out"),
        WalletTransaction.currency == currency,
        WalletTransaction.status.in_(("completed", "pending")),  # pending: in flight, counts
    )
    row = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(WalletTransaction.amount).filter(
                        WalletTransaction.created_at >= day_start
                    ),
                    0,
                ),
                func.count().filter(WalletTransaction.created_at >= day_start),
                func.coalesce(func.sum(WalletTransaction.amount), 0),
                func.count(),
            ).where(*base, WalletTransaction.created_at >= month_start)
        )
    ).one()
    return Usage(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


async def allowance(
    session: Any, user: User, channel: str, currency: str
) -> tuple[Limit, Decision]:
    """What the user may still do (for showing before they commit)."""
    limit = await get_limit(session, tier=user.kyc_tier, channel=channel, currency=currency)
    used = await usage(session, user.id, channel, currency, datetime.now(UTC))
    return limit, decide(limit, used, 0)


MONEY_OUT_KINDS = ("transfer", "withdrawal", "payment")


async def recent_money_out(session: Any, user_id: uuid.UUID, since: datetime) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).where(
                    WalletTransaction.user_id == user_id,
                    WalletTransaction.direction == "out",
                    WalletTransaction.kind.in_(MONEY_OUT_KINDS),
                    WalletTransaction.created_at >= since,
                    WalletTransaction.status.in_(("completed", "pending")),
                )
            )
        ).scalar_one()
    )


async def enforce(
    session: Any,
    user: User,
    channel: str,
    amount: Money,
    *,
    velocity: tuple[int, int] | None = None,
) -> None:
    """Refuse ``amount`` if it breaks a limit, or if the account is restricted. Holds a
    per-user, per-channel lock until the transaction ends, so concurrent requests are judged
    one after the other. ``velocity`` = (max operations, window in seconds): the operation that
    reaches the maximum goes through and restricts the account until an operator reviews it."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext(f"limits:{channel}:{user.id}")))
    )
    if channel != "topup":
        if await restrictions.active(session, user.id) is not None:
            raise restrictions.AccountRestricted()
        if velocity is not None and velocity[0] > 0:
            now = datetime.now(UTC)
            recent = await recent_money_out(session, user.id, now - timedelta(seconds=velocity[1]))
            if restrictions.too_frequent(recent + 1, velocity[0]):
                await restrictions.restrict(
                    session,
                    user.id,
                    "velocity",
                    f"{recent + 1} money-out operations within {velocity[1]} s",
                )
    limit = await get_limit(session, tier=user.kyc_tier, channel=channel, currency=amount.currency)
    used = await usage(session, user.id, channel, amount.currency, datetime.now(UTC))
    decision = decide(limit, used, amount.minor)
    if not decision.allowed:
        assert decision.reason is not None
        shown = {
            "single": limit.single_max,
            "daily_amount": decision.remaining_today,
            "monthly_amount": decision.remaining_this_month,
        }.get(decision.reason)
        raise LimitExceeded(
            reason=REASONS[decision.reason],
            amount=Money(shown, amount.currency).to_decimal_string() + " " + amount.currency
            if shown is not None
            else "",
        )
