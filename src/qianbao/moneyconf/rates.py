"""Exchange rates (B12): what one unit of a currency costs in CNY, and the spread a customer
pays. The operator's table (the finance console, four-eyes; every earlier value stays in the
change log) comes first; where it has no row, a rate provider may answer. The provider is an
interface: ``DevRates`` ships fixed reference rates for development and demos; a real feed (a
bank's or a market-data vendor's) is another class with the same two attributes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from sqlalchemy import select

from qianbao.kernel.money import CURRENCIES
from qianbao.moneyconf.models import FxRate

BASE = "CNY"
ONE = Decimal(1)


@dataclass(frozen=True)
class Rate:
    code: str
    per_cny: Decimal  # CNY for one unit of ``code``
    spread: Decimal  # percent
    source: str  # "table" (the operator's), or the provider's name
    updated_at: datetime | None = None


class RateProvider(Protocol):
    name: str

    def reference(self, code: str) -> Decimal | None:
        """CNY for one unit of ``code``; ``None`` when the provider has no rate for it."""


class DevRates:
    """Fixed reference rates for development and the demo (never used in production): close to
    the market at the end of 2026, so the amounts on the pages look real."""

    name = "dev"
    RATES: ClassVar[dict[str, Decimal]] = {
        "USD": Decimal("7.1180"),
        "EUR": Decimal("7.7020"),
        "HKD": Decimal("0.9146"),
        "JPY": Decimal("0.047310"),
        "USDT": Decimal("7.1050"),
    }

    def reference(self, code: str) -> Decimal | None:
        return self.RATES.get(code)


def provider(settings: Any) -> RateProvider | None:
    fx = settings.payments.fx
    if fx.rate_provider == "dev" and settings.environment != "production":
        return DevRates()
    return None


def _of_row(row: FxRate) -> Rate:
    return Rate(row.code, Decimal(row.per_cny), Decimal(row.spread), "table", row.updated_at)


async def stored(session: Any, code: str) -> Rate | None:
    row = await session.get(FxRate, code)
    return None if row is None else _of_row(row)


async def all_stored(session: Any) -> list[Rate]:
    rows = (await session.execute(select(FxRate).order_by(FxRate.code))).scalars()
    return [_of_row(r) for r in rows]


async def rate(session: Any, settings: Any, code: str) -> Rate | None:
    """The rate in force for ``code`` (CNY is 1 with no spread); ``None``: no rate."""
    if code == BASE:
        return Rate(BASE, ONE, Decimal(0), "base")
    found = await stored(session, code)
    if found is not None:
        return found
    feed = provider(settings)
    reference = feed.reference(code) if feed is not None else None
    if reference is None:
        return None
    return Rate(code, reference, Decimal(settings.payments.fx.default_spread), feed.name)  # type: ignore[union-attr]


async def rates(session: Any, settings: Any) -> dict[str, Rate | None]:
    """Every currency's rate in force (CNY first)."""
    rows = {r.code: _of_row(r) for r in (await session.execute(select(FxRate))).scalars()}
    out: dict[str, Rate | None] = {}
    for code in CURRENCIES:
        out[code] = rows.get(code) or await rate(session, settings, code)
    return out


async def set_rate(
    session: Any,
    code: str,
    per_cny: Decimal,
    spread: Decimal,
    *,
    change_id: uuid.UUID,
    now: datetime,
) -> None:
    row = await session.get(FxRate, code, with_for_update=True)
    if row is None:
        row = FxRate(code=code)
        session.add(row)
    row.per_cny, row.spread, row.change_id, row.updated_at = per_cny, spread, change_id, now
    await session.flush()
