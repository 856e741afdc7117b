"""What each verification tier unlocks: the limits table's rows of one currency, per tier and
channel, for the verification page and API.

The limits table (``risk_limits``) belongs to the risk domain, which sits above identity (risk
reads a user's tier): identity may not import it. The table is keyed by the tier identity owns,
so this module reads it with one read-only statement instead; a column renamed there fails the
tests of this page. ``require_tier`` is the check other domains call before an operation that
needs a tier (cash-out at an agent above a threshold needs tier 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text

from qianbao.identity.kyc_errors import TierRequired
from qianbao.identity.models import User

TIERS = (0, 1, 2)
# The order channels are shown in (others, if the table gains some, follow by name).
CHANNEL_ORDER = ("topup", "transfer", "withdrawal", "payment", "exchange")

_LIMITS = text(
    "SELECT tier, channel, single_max, daily_max, daily_count, monthly_max, monthly_count"
    " FROM risk_limits WHERE currency = :currency AND tier IN (0, 1, 2)"
)


@dataclass(frozen=True)
class ChannelLimit:
    channel: str
    single_max: int  # minor units
    daily_max: int
    daily_count: int
    monthly_max: int
    monthly_count: int


@dataclass(frozen=True)
class TierLimits:
    tier: int
    currency: str
    channels: list[ChannelLimit]

    def of(self, channel: str) -> ChannelLimit | None:
        return next((c for c in self.channels if c.channel == channel), None)


def _order(channel: str) -> tuple[int, str]:
    known = channel in CHANNEL_ORDER
    return (CHANNEL_ORDER.index(channel) if known else len(CHANNEL_ORDER), channel)


async def tier_limits(session: Any, currency: str = "CNY") -> list[TierLimits]:
    """Tiers 0, 1 and 2 with their limits in ``currency`` (a channel without a row allows
    nothing and is left out)."""
    rows = (await session.execute(_LIMITS, {"currency": currency})).all()
    by_tier: dict[int, list[ChannelLimit]] = {tier: [] for tier in TIERS}
    for tier, channel, *values in rows:
        by_tier[int(tier)].append(ChannelLimit(str(channel), *(int(v) for v in values)))
    return [
        TierLimits(tier, currency, sorted(by_tier[tier], key=lambda c: _order(c.channel)))
        for tier in TIERS
    ]


async def current_tier(session: Any, user_id: Any) -> int:
    """The tier as committed now (not as a loaded ``User`` object remembers it)."""
    found = (await session.execute(select(User.kyc_tier).where(User.id == user_id))).scalar()
    return int(found or 0)


async def require_tier(session: Any, user: User, tier: int) -> None:
    """Refuse (``kyc.tier_required``, 403) unless ``user`` is verified at ``tier`` or above."""
    if await current_tier(session, user.id) < tier:
        raise TierRequired(tier=tier)
