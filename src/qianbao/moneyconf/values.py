"""The money settings in force: the approved row when there is one, else the environment's
setting. Reads are one primary-key (or tiny-table) query each; writes come only from an approved
change in the finance console (``qianbao.finance.changes``), in its transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from qianbao.kernel.money import CURRENCIES, Money, MoneyError
from qianbao.moneyconf.fees import FeeSchedule
from qianbao.moneyconf.models import CalendarYear, CurrencySetting, FeePlan

WITHDRAWAL_METHODS = ("card", "iban")
TOPUP_METHODS = ("alipay", "wechatpay")  # the card acquirer charges no fee of its own


@dataclass(frozen=True)
class Plan:
    """A fee plan in one currency (minor units)."""

    currency: str
    schedule: FeeSchedule


@dataclass(frozen=True)
class CurrencyConf:
    """``enabled``: customers may open wallets in it and bring money in (top-ups, deposits)."""

    code: str
    exponent: int
    enabled: bool
    review_above: int


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[date]
    workdays: frozenset[date]

    def of_year(self, year: int) -> tuple[list[date], list[date]]:
        return (
            sorted(d for d in self.holidays if d.year == year),
            sorted(d for d in self.workdays if d.year == year),
        )


def default_minor(text: str, code: str) -> int:
    """A settings amount ("5000.00") in ``code``'s minor units; decimals a currency does not
    have (JPY) are dropped rather than refused, as a setting is not a user's input."""
    try:
        return Money.parse(text, code).minor
    except MoneyError:
        return Money.parse(text.split(".", 1)[0], code).minor


# -- fee plans ---------------------------------------------------------------------------------
def _setting_rule(settings: Any, target: str) -> Any:
    operation, _, method = target.partition(":")
    p = settings.payments
    if operation == "withdrawal":
        return p.withdrawal_fees.get(method)
    if operation == "topup" and method in TOPUP_METHODS:
        return getattr(p, method).fee
    return None


def default_plan(settings: Any, target: str, currency: str) -> Plan | None:
    rule = _setting_rule(settings, target)
    if rule is None:
        return None
    return Plan(currency, FeeSchedule.from_rule(rule, currency))


def fee_targets(settings: Any) -> list[str]:
    methods = list(settings.payments.withdrawal_fees) or list(WITHDRAWAL_METHODS)
    return [f"withdrawal:{m}" for m in methods] + [f"topup:{m}" for m in TOPUP_METHODS]


async def plan(session: Any, settings: Any, target: str, currency: str) -> Plan | None:
    """The fee in force for ``target`` in ``currency`` (``None``: the method has none). An
    approved plan applies to its own currency; other currencies keep the settings' rule."""
    row = await session.get(FeePlan, target)
    if row is not None and row.currency == currency:
        return Plan(row.currency, _schedule(row))
    return default_plan(settings, target, currency)


async def stored_plan(session: Any, target: str) -> Plan | None:
    row = await session.get(FeePlan, target)
    return None if row is None else Plan(row.currency, _schedule(row))


def _schedule(row: FeePlan) -> FeeSchedule:
    return FeeSchedule(row.fixed, Decimal(row.percent), row.minimum, row.maximum)


async def plans(session: Any, settings: Any, currency: str = "CNY") -> dict[str, Plan | None]:
    """Every fee target's plan in force (for the console and the pages listing fees)."""
    rows = {r.target: r for r in (await session.execute(select(FeePlan))).scalars()}
    out: dict[str, Plan | None] = {}
    for target in fee_targets(settings) + [t for t in rows if t not in fee_targets(settings)]:
        row = rows.get(target)
        if row is not None and row.currency == currency:
            out[target] = Plan(row.currency, _schedule(row))
        else:
            out[target] = default_plan(settings, target, currency)
    return out


async def set_plan(
    session: Any, target: str, new: Plan, *, change_id: uuid.UUID, now: datetime
) -> None:
    row = await session.get(FeePlan, target, with_for_update=True)
    if row is None:
        row = FeePlan(target=target)
        session.add(row)
    s = new.schedule
    row.currency, row.fixed, row.percent = new.currency, s.fixed, s.percent
    row.minimum, row.maximum = s.minimum, s.maximum
    row.change_id, row.updated_at = change_id, now
    await session.flush()


# -- currencies --------------------------------------------------------------------------------
def default_currency(settings: Any, code: str) -> CurrencyConf:
    return CurrencyConf(
        code=code,
        exponent=CURRENCIES[code].exponent,
        enabled=code == "CNY" or code in settings.payments.currencies,
        review_above=default_minor(settings.payments.withdrawal_review_above, code),
    )


def _currency_of(row: CurrencySetting) -> CurrencyConf:
    return CurrencyConf(row.code, CURRENCIES[row.code].exponent, row.enabled, row.review_above)


async def currency(session: Any, settings: Any, code: str) -> CurrencyConf:
    row = await session.get(CurrencySetting, code)
    return _currency_of(row) if row is not None else default_currency(settings, code)


async def enabled_codes(session: Any, settings: Any) -> list[str]:
    """The currencies customers may hold, CNY first."""
    return [c.code for c in await currencies(session, settings) if c.enabled or c.code == "CNY"]


async def currencies(session: Any, settings: Any) -> list[CurrencyConf]:
    rows = {r.code: r for r in (await session.execute(select(CurrencySetting))).scalars()}
    return [
        _currency_of(rows[code]) if code in rows else default_currency(settings, code)
        for code in CURRENCIES
    ]


async def set_currency(
    session: Any, conf: CurrencyConf, *, change_id: uuid.UUID, now: datetime
) -> None:
    row = await session.get(CurrencySetting, conf.code, with_for_update=True)
    if row is None:
        row = CurrencySetting(code=conf.code)
        session.add(row)
    row.enabled, row.review_above = conf.enabled, conf.review_above
    row.change_id, row.updated_at = change_id, now
    await session.flush()


# -- the business calendar ---------------------------------------------------------------------
async def calendar(session: Any, settings: Any) -> Calendar:
    """Holidays and worked weekend days: each year the console set replaces that year of the
    settings' lists."""
    rows = list((await session.execute(select(CalendarYear))).scalars())
    years = {r.year for r in rows}
    p = settings.payments
    holidays = {d for d in p.holidays if d.year not in years}
    workdays = {d for d in p.workdays if d.year not in years}
    for r in rows:
        holidays.update(r.holidays)
        workdays.update(r.workdays)
    return Calendar(frozenset(holidays), frozenset(workdays))


async def set_calendar_year(
    session: Any,
    year: int,
    holidays: list[date],
    workdays: list[date],
    *,
    change_id: uuid.UUID,
    now: datetime,
) -> None:
    row = await session.get(CalendarYear, year, with_for_update=True)
    if row is None:
        row = CalendarYear(year=year)
        session.add(row)
    row.holidays, row.workdays = sorted(holidays), sorted(workdays)
    row.change_id, row.updated_at = change_id, now
    await session.flush()
