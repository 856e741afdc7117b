"""Reading and changing limits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from qianbao.risk.limits import Limit
from qianbao.risk.models import LimitRow

# When no row matches (a currency without its own row): refuse everything rather than allow all.
NOTHING_ALLOWED = (0, 0, 0, 0, 0)


async def get_limit(session: Any, *, tier: int, channel: str, currency: str) -> Limit:
    row = await session.get(LimitRow, (tier, channel, currency))
    if row is None:
        return Limit(tier, channel, currency, *NOTHING_ALLOWED)
    return Limit(
        tier,
        channel,
        currency,
        row.single_max,
        row.daily_max,
        row.daily_count,
        row.monthly_max,
        row.monthly_count,
    )


async def list_limits(session: Any) -> list[Limit]:
    rows = await session.execute(
        select(LimitRow).order_by(LimitRow.tier, LimitRow.channel, LimitRow.currency)
    )
    return [
        Limit(
            r.tier,
            r.channel,
            r.currency,
            r.single_max,
            r.daily_max,
            r.daily_count,
            r.monthly_max,
            r.monthly_count,
        )
        for r in rows.scalars()
    ]


async def set_limit(session: Any, limit: Limit) -> None:
    row = await session.get(LimitRow, (limit.tier, limit.channel, limit.currency))
    if row is None:
        row = LimitRow(tier=limit.tier, channel=limit.channel, currency=limit.currency)
        session.add(row)
    row.single_max, row.daily_max, row.daily_count = (
        limit.single_max,
        limit.daily_max,
        limit.daily_count,
    )
    row.monthly_max, row.monthly_count = limit.monthly_max, limit.monthly_count
    await session.flush()


async def find_limit(session: Any, *, tier: int, channel: str, currency: str) -> Limit | None:
    """The row itself, or ``None`` when the table has none (``get_limit`` then allows nothing)."""
    row = await session.get(LimitRow, (tier, channel, currency))
    if row is None:
        return None
    return await get_limit(session, tier=tier, channel=channel, currency=currency)
