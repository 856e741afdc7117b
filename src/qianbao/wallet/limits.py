"""Applying the risk limits to the wallet: usage so far this day and month (China calendar),
checked under a per-user lock in the same transaction as the posting, so two transfers cannot
both squeeze under the limit."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, literal, select, true

from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.money import Money
from qianbao.risk import restrictions
from qianbao.risk.limits import REASONS, Decision, Limit, LimitExceeded, Usage, decide
from qianbao.risk.models import LimitRow, Restriction
from qianbao.risk.repository import NOTHING_ALLOWED, get_limit
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
    used = await usage(session, user.id, channel, currency, clock_of(session).now())
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
    reaches the maximum goes through and restricts the account until an operator reviews it.

    Two round trips: the lock, then one statement reading the restriction, the limit, the usage
    of the day and month and the recent money-out count (read after the lock is held, so a
    concurrent request's committed rows are seen)."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext(f"limits:{channel}:{user.id}")))
    )
    now = clock_of(session).now()
    local = now.astimezone(LOCAL_TZ)
    day_start = datetime.combine(local.date(), time.min, tzinfo=LOCAL_TZ)
    month_start = day_start.replace(day=1)
    window = velocity[1] if velocity is not None else 0
    counted = WalletTransaction.status.in_(("completed", "pending"))  # pending: in flight
    w = WalletTransaction
    used = (
        select(
            func.coalesce(func.sum(w.amount).filter(w.created_at >= day_start), 0).label("da"),
            func.count().filter(w.created_at >= day_start).label("dc"),
            func.coalesce(func.sum(w.amount), 0).label("ma"),
            func.count().label("mc"),
        )
        .where(
            w.user_id == user.id,
            w.kind == KIND_FOR_CHANNEL[channel],
            w.direction == ("in" if channel == "topup" else "out"),
            w.currency == amount.currency,
            counted,
            w.created_at >= month_start,
        )
        .subquery()
    )
    # The velocity window, restarted by an operator's lift: what came before the review is
    # not counted again (GREATEST ignores a NULL: never lifted). Issue 13, defect 12.
    last_lift = (
        select(func.max(Restriction.lifted_at))
        .where(Restriction.user_id == user.id)
        .scalar_subquery()
    )
    recent = (
        select(func.count())
        .where(
            w.user_id == user.id,
            w.direction == "out",
            w.kind.in_(MONEY_OUT_KINDS),
            w.created_at >= func.greatest(now - timedelta(seconds=window), last_lift),
            counted,
        )
        .scalar_subquery()
    )
    restricted = (
        select(func.count())
        .where(Restriction.user_id == user.id, Restriction.lifted_at.is_(None))
        .scalar_subquery()
    )
    limit_row = (
        select(LimitRow)
        .where(
            LimitRow.tier == user.kyc_tier,
            LimitRow.channel == channel,
            LimitRow.currency == amount.currency,
        )
        .subquery()
    )
    row = (
        await session.execute(
            select(
                restricted,
                recent if window else literal(0),
                used.c.da,
                used.c.dc,
                used.c.ma,
                used.c.mc,
                limit_row.c.single_max,
                limit_row.c.daily_max,
                limit_row.c.daily_count,
                limit_row.c.monthly_max,
                limit_row.c.monthly_count,
            ).select_from(used.outerjoin(limit_row, true()))
        )
    ).one()
    if channel != "topup":
        if row[0]:
            raise restrictions.AccountRestricted()
        if velocity is not None and restrictions.too_frequent(int(row[1]) + 1, velocity[0]):
            await restrictions.restrict(
                session,
                user.id,
                "velocity",
                f"{int(row[1]) + 1} money-out operations within {velocity[1]} s",
            )
    if row[6] is None:  # no row for this tier, channel and currency: nothing is allowed
        limit = Limit(user.kyc_tier, channel, amount.currency, *NOTHING_ALLOWED)
    else:
        limit = Limit(user.kyc_tier, channel, amount.currency, *(int(v) for v in row[6:11]))
    decision = decide(limit, Usage(*(int(v) for v in row[2:6])), amount.minor)
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
