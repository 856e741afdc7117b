"""What the finance console shows: every money setting in force (with any change waiting for
approval), and a change as a field-by-field comparison of before and after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qianbao.banking import accounts as receiving
from qianbao.finance import changes
from qianbao.finance.access import require_finance_staff
from qianbao.finance.targets import LABELS, LIMIT_AMOUNTS, current, target_of
from qianbao.kernel.clock import clock_of
from qianbao.kernel.money import Money
from qianbao.moneyconf import rates, values
from qianbao.risk import repository as limits_repo

SECTIONS = ("fee", "limit", "currency", "account", "calendar", "rate")


@dataclass(frozen=True)
class Setting:
    target: str
    value: dict[str, Any] | None  # amounts in minor units; account numbers masked
    pending: Any  # the SettingChange waiting for approval, if any


@dataclass(frozen=True)
class Row:
    field: str
    label: str  # N_-marked
    before: str
    after: str
    changed: bool


def currency_of(target: str, value: dict[str, Any] | None) -> str:
    kind, _, key = target.partition(":")
    if kind == "limit":
        return key.split(":")[2]
    if kind in ("currency", "rate"):
        return key
    return str((value or {}).get("currency") or "CNY")


def _text(field: str, value: Any, currency: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(value) if value else "—"
    if field in (*LIMIT_AMOUNTS, "fixed", "minimum", "maximum", "review_above"):
        return Money(int(value), currency).text()
    if field in ("percent", "spread"):
        return f"{value} %"
    return str(value)


def diff(change: Any) -> list[Row]:
    before, after = changes.masked(change.before), changes.masked(change.after)
    currency = currency_of(change.target, change.after)
    found = set(after or {}) | set(before or {})
    order = list(LABELS)  # the labels' order, not JSONB's
    fields = sorted(found, key=lambda f: (order.index(f) if f in order else len(order), f))
    out = []
    for f in fields:
        b = (before or {}).get(f) if before is not None else None
        a = (after or {}).get(f)
        bt = _text(f, b, currency) if before is not None else "—"
        at = _text(f, a, currency)
        if isinstance(a, list) and isinstance(b, list) and a != b:
            # A long list (a year's holidays): what the change adds and removes, not all of it.
            at = ", ".join(
                [f"+ {x}" for x in sorted(set(a) - set(b))]
                + [f"− {x}" for x in sorted(set(b) - set(a))]
            )
        out.append(Row(f, LABELS.get(f, f), bt, at, before is None or a != b))
    return out


def amount_text(minor: int | None, currency: str) -> str:
    """An amount as a form shows it for editing (``"12.34"``; empty for none)."""
    return "" if minor is None else Money(minor, currency).to_decimal_string()


async def section(session: Any, settings: Any, staff: Any, kind: str) -> list[Setting]:
    """Every setting of one kind in force, with its pending change."""
    require_finance_staff(staff)
    pending = {c.target: c for c in await changes.listing(session, staff, status="pending")}
    targets: list[str] = []
    if kind == "fee":
        targets = [f"fee:{t}" for t in values.fee_targets(settings)]
    elif kind == "limit":
        targets = [
            f"limit:{lim.tier}:{lim.channel}:{lim.currency}"
            for lim in await limits_repo.list_limits(session)
        ]
    elif kind == "currency":
        targets = [f"currency:{c.code}" for c in await values.currencies(session, settings)]
    elif kind == "account":
        targets = [f"account:{a.code}" for a in await receiving.all_accounts(session)]
    elif kind == "calendar":
        this_year = clock_of(session).today().year
        years = {this_year, this_year + 1}
        years.update(d.year for d in settings.payments.holidays)
        cal = await values.calendar(session, settings)
        years.update(d.year for d in cal.holidays | cal.workdays)
        targets = [f"calendar:{y}" for y in sorted(years)]
    elif kind == "rate":
        targets = [f"rate:{r.code}" for r in await rates.all_stored(session)]
    targets += [t for t in pending if t.startswith(f"{kind}:") and t not in targets]
    out = []
    for target in targets:
        value = await current(session, settings, target_of(target, settings))
        out.append(Setting(target, changes.masked(value), pending.get(target)))
    return out
