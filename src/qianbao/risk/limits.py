"""Transaction limits (B6, D3): per KYC tier, channel and currency, single / daily / monthly
amounts and counts. ``decide`` is pure: the caller gives it the limit, what was already used in
the period (including what is in flight), and the amount asked for."""

from __future__ import annotations

from dataclasses import dataclass

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_

CHANNELS = ("topup", "transfer", "withdrawal", "payment", "exchange")


@dataclass(frozen=True)
class Limit:
    tier: int
    channel: str
    currency: str
    single_max: int
    daily_max: int
    daily_count: int
    monthly_max: int
    monthly_count: int


@dataclass(frozen=True)
class Usage:
    day_amount: int
    day_count: int
    month_amount: int
    month_count: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None
    remaining_today: int
    remaining_this_month: int


class LimitExceeded(DomainError):
    code = "risk.limit_exceeded"
    kind = ErrorKind.CONFLICT
    message = N_("This is over your limit: {reason}")


REASONS = {
    "single": N_("at most {amount} at a time"),
    "daily_amount": N_("you can still send {amount} today"),
    "daily_count": N_("you have reached the number of transactions allowed today"),
    "monthly_amount": N_("you can still send {amount} this month"),
    "monthly_count": N_("you have reached the number of transactions allowed this month"),
}


def decide(limit: Limit, usage: Usage, amount: int) -> Decision:
    remaining_today = max(0, limit.daily_max - usage.day_amount)
    remaining_month = max(0, limit.monthly_max - usage.month_amount)
    reason = None
    if amount > limit.single_max:
        reason = "single"
    elif usage.day_count + 1 > limit.daily_count:
        reason = "daily_count"
    elif usage.month_count + 1 > limit.monthly_count:
        reason = "monthly_count"
    elif amount > remaining_today:
        reason = "daily_amount"
    elif amount > remaining_month:
        reason = "monthly_amount"
    return Decision(reason is None, reason, remaining_today, remaining_month)
