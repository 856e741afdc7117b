"""What the finance console can change, one kind at a time. A target is ``<kind>:<key>``:

- ``fee:withdrawal:card``, ``fee:topup:alipay`` — a fee plan (fixed + percent, min, max);
- ``limit:<tier>:<channel>:<currency>`` — a row of the limits table (``risk_limits``);
- ``currency:<code>`` — whether it takes top-ups, and the withdrawal review threshold;
- ``account:<code>`` — a receiving bank account (add, rename, deactivate, reactivate);
- ``calendar:<year>`` — the year's public holidays and weekend days worked;
- ``rate:<code>`` — an exchange rate (CNY for one unit) and its spread.

Each kind reads the value in force as JSON (``current``; amounts in minor units), parses what an
operator typed into the same JSON (``parse``; one parser per kind of input: amounts with
``Money.parse``, percentages, counts, dates), and writes an approved value (``apply``)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from qianbao.banking import accounts as receiving
from qianbao.finance.errors import InvalidSetting, UnknownSetting
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import CURRENCIES, Money
from qianbao.moneyconf import rates, values
from qianbao.moneyconf.fees import FeeSchedule
from qianbao.risk import repository as limits_repo
from qianbao.risk.limits import CHANNELS, Limit

KINDS = ("fee", "limit", "currency", "account", "calendar", "rate")
LIMIT_FIELDS = ("single_max", "daily_max", "daily_count", "monthly_max", "monthly_count")
LIMIT_AMOUNTS = ("single_max", "daily_max", "monthly_max")
MAX_COUNT = 1_000_000
MAX_TIER = 9
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?")
_RATE = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,10})?")
MAX_SPREAD = 10
_COUNT = re.compile(r"[0-9]{1,7}")
_ACCOUNT_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,23}")
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_DATE_SPLIT = re.compile(r"[\s,;，、]+")

LABELS = {
    "currency": N_("Currency"),
    "fixed": N_("Fixed fee"),
    "percent": N_("Percentage"),
    "minimum": N_("Minimum fee"),
    "maximum": N_("Maximum fee"),
    "single_max": N_("At most at a time"),
    "daily_max": N_("At most a day"),
    "daily_count": N_("Transactions a day"),
    "monthly_max": N_("At most a month"),
    "monthly_count": N_("Transactions a month"),
    "enabled": N_("Open to customers: wallets and money in"),
    "review_above": N_("Withdrawals above this wait for review"),
    "holder_name": N_("Account name"),
    "bank_name": N_("Bank"),
    "branch": N_("Branch"),
    "account_number": N_("Account number"),
    "bic": N_("BIC"),
    "active": N_("Active"),
    "holidays": N_("Public holidays"),
    "workdays": N_("Weekend days worked"),
    "per_cny": N_("CNY for one unit"),
    "spread": N_("Spread (percent)"),
}


def _invalid(reason: str) -> InvalidSetting:
    return InvalidSetting(reason=reason)


@dataclass(frozen=True)
class Target:
    kind: str
    key: str

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.key}"


def target_of(text: str, settings: Any) -> Target:
    """Check a target's form (``UnknownSetting`` when it names nothing we have)."""
    kind, _, key = (text or "").partition(":")
    ok = False
    if kind == "fee":
        ok = key in values.fee_targets(settings)
    elif kind == "limit":
        parts = key.split(":")
        ok = (
            len(parts) == 3
            and parts[0].isdigit()
            and 0 <= int(parts[0]) <= MAX_TIER
            and parts[1] in CHANNELS
            and parts[2] in CURRENCIES
        )
    elif kind == "currency":
        ok = key in CURRENCIES
    elif kind == "account":
        ok = _ACCOUNT_CODE.fullmatch(key) is not None
    elif kind == "calendar":
        ok = key.isdigit() and 2000 <= int(key) <= 2100
    elif kind == "rate":
        ok = key in CURRENCIES and key != rates.BASE
    if not ok:
        raise UnknownSetting()
    return Target(kind, key)


# -- the parsers: one per kind of input ---------------------------------------------------------
def _amount(raw: Any, code: str, *, optional: bool = False) -> int | None:
    """An amount in ``code`` (``Money.parse``'s own errors say what is wrong with it)."""
    text = str(raw if raw is not None else "").strip()
    if not text and optional:
        return None
    return Money.parse(text, code).minor


def _percent(raw: Any) -> str:
    text = str(raw if raw is not None else "").strip() or "0"
    if _PERCENT.fullmatch(text) is None or Decimal(text) > 100:
        raise _invalid(N_("a percentage is a number from 0 to 100 with at most 4 decimals"))
    return format(Decimal(text).normalize(), "f")


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _rate(raw: Any) -> str:
    text = str(raw if raw is not None else "").strip()
    if _RATE.fullmatch(text) is None or Decimal(text) <= 0:
        raise _invalid(N_("a rate is a number above 0 such as 7.1180, with at most 10 decimals"))
    return format(Decimal(text).normalize(), "f")


def _count(raw: Any) -> int:
    text = str(raw if raw is not None else "").strip()
    if _COUNT.fullmatch(text) is None or int(text) > MAX_COUNT:
        raise _invalid(N_("a number of transactions is a whole number up to 1000000"))
    return int(text)


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    return str(raw or "").strip().lower() in ("1", "true", "on", "yes")


def _text(raw: Any, limit: int, *, required: bool = True) -> str | None:
    text = " ".join(str(raw or "").split())[:limit]
    if required and not text:
        raise _invalid(N_("fill in the name, the bank and the account number"))
    return text or None


def _dates(raw: Any, year: int) -> list[str]:
    items = raw if isinstance(raw, list) else _DATE_SPLIT.split(str(raw or "").strip())
    found: set[date] = set()
    for item in items:
        if not str(item).strip():
            continue
        try:
            day = date.fromisoformat(str(item).strip())
        except ValueError:
            raise _invalid(N_("write dates as 2026-10-01, one after another")) from None
        if day.year != year:
            raise _invalid(N_("every date must be in the year you change"))
        found.add(day)
    if len(found) > 120:
        raise _invalid(N_("too many dates"))
    return [d.isoformat() for d in sorted(found)]


# -- the value in force, as JSON ---------------------------------------------------------------
def _plan_json(plan: values.Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    s = plan.schedule
    return {
        "currency": plan.currency,
        "fixed": s.fixed,
        "percent": format(s.percent.normalize(), "f"),
        "minimum": s.minimum,
        "maximum": s.maximum,
    }


def _account_json(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "holder_name": row.holder_name,
        "bank_name": row.bank_name,
        "branch": row.branch,
        "account_number": row.account_number,
        "bic": row.bic,
        "currency": row.currency,
        "active": bool(row.active),
    }


async def current(session: Any, settings: Any, t: Target) -> dict[str, Any] | None:
    if t.kind == "fee":  # the approved plan, else the settings' rule in CNY
        stored = await values.stored_plan(session, t.key)
        return _plan_json(stored or values.default_plan(settings, t.key, "CNY"))
    if t.kind == "limit":
        tier, channel, code = t.key.split(":")
        found = await limits_repo.find_limit(
            session, tier=int(tier), channel=channel, currency=code
        )
        return None if found is None else {f: getattr(found, f) for f in LIMIT_FIELDS}
    if t.kind == "currency":
        conf = await values.currency(session, settings, t.key)
        return {"enabled": conf.enabled, "review_above": conf.review_above}
    if t.kind == "account":
        return _account_json(await receiving.by_code(session, t.key))
    if t.kind == "rate":
        r = await rates.stored(session, t.key)
        if r is None:
            return None
        return {"per_cny": format(r.per_cny.normalize(), "f"), "spread": _decimal_text(r.spread)}
    year = int(t.key)
    holidays, workdays = (await values.calendar(session, settings)).of_year(year)
    return {
        "holidays": [d.isoformat() for d in holidays],
        "workdays": [d.isoformat() for d in workdays],
    }


# -- what the operator asks for, as JSON ---------------------------------------------------------
async def parse(
    session: Any, t: Target, raw: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, Any]:
    if t.kind == "fee":
        code = str(raw.get("currency") or (before or {}).get("currency") or "CNY").upper()
        if code not in CURRENCIES:
            raise _invalid(N_("this currency is not supported"))
        minimum = _amount(raw.get("minimum"), code) or 0
        maximum = _amount(raw.get("maximum"), code, optional=True)
        if maximum is not None and maximum < minimum:
            raise _invalid(N_("the maximum fee must not be below the minimum"))
        return {
            "currency": code,
            "fixed": _amount(raw.get("fixed"), code),
            "percent": _percent(raw.get("percent")),
            "minimum": minimum,
            "maximum": maximum,
        }
    if t.kind == "limit":
        code = t.key.split(":")[2]
        out: dict[str, Any] = {}
        for f in LIMIT_FIELDS:
            out[f] = _amount(raw.get(f), code) if f in LIMIT_AMOUNTS else _count(raw.get(f))
        return out
    if t.kind == "currency":
        return {
            "enabled": _flag(raw.get("enabled")),
            "review_above": _amount(raw.get("review_above"), t.key),
        }
    if t.kind == "account":
        return await _parse_account(session, t, raw, before)
    if t.kind == "rate":
        spread = _percent(raw.get("spread"))
        if Decimal(spread) > MAX_SPREAD:
            raise _invalid(N_("a spread is at most 10 percent"))
        return {"per_cny": _rate(raw.get("per_cny")), "spread": spread}
    year = int(t.key)
    holidays = _dates(raw.get("holidays"), year)
    workdays = _dates(raw.get("workdays"), year)
    if set(holidays) & set(workdays):
        raise _invalid(N_("a day cannot be both a holiday and a day worked"))
    if any(date.fromisoformat(d).weekday() < 5 for d in workdays):
        raise _invalid(N_("a day worked instead of a holiday must be a Saturday or a Sunday"))
    return {"holidays": holidays, "workdays": workdays}


async def _parse_account(
    session: Any, t: Target, raw: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, Any]:
    active = _flag(raw.get("active")) if "active" in raw else True
    if before is not None:  # an existing account: its number and currency stay
        return {
            **before,
            "holder_name": _text(raw.get("holder_name") or before["holder_name"], 140),
            "bank_name": _text(raw.get("bank_name") or before["bank_name"], 140),
            "branch": _text(raw.get("branch", before["branch"]), 140, required=False),
            "active": active,
        }
    number = receiving.compact(str(raw.get("account_number") or ""))
    if not 5 <= len(number) <= 34 or not number.isalnum():
        raise _invalid(N_("the account number has 5 to 34 letters and digits"))
    code = str(raw.get("currency") or "CNY").upper()
    if code not in CURRENCIES:
        raise _invalid(N_("this currency is not supported"))
    bic = str(raw.get("bic") or "").strip().upper() or None
    if bic is not None and _BIC.fullmatch(bic) is None:
        raise _invalid(N_("a BIC has 8 or 11 letters and digits"))
    if await receiving.by_statement_account(session, number) is not None:
        raise _invalid(N_("this account number is already one of ours"))
    return {
        "holder_name": _text(raw.get("holder_name"), 140),
        "bank_name": _text(raw.get("bank_name"), 140),
        "branch": _text(raw.get("branch"), 140, required=False),
        "account_number": number,
        "bic": bic,
        "currency": code,
        "active": active,
    }


# -- an approved value takes effect --------------------------------------------------------------
async def apply(
    session: Any, t: Target, after: dict[str, Any], *, change_id: uuid.UUID, now: datetime
) -> None:
    if t.kind == "fee":
        schedule = FeeSchedule(
            after["fixed"], Decimal(after["percent"]), after["minimum"], after["maximum"]
        )
        plan = values.Plan(after["currency"], schedule)
        await values.set_plan(session, t.key, plan, change_id=change_id, now=now)
    elif t.kind == "limit":
        tier, channel, code = t.key.split(":")
        await limits_repo.set_limit(
            session, Limit(int(tier), channel, code, *(after[f] for f in LIMIT_FIELDS))
        )
    elif t.kind == "currency":
        conf = values.CurrencyConf(
            t.key, CURRENCIES[t.key].exponent, after["enabled"], after["review_above"]
        )
        await values.set_currency(session, conf, change_id=change_id, now=now)
    elif t.kind == "account":
        if await receiving.by_code(session, t.key) is None:
            await receiving.add(
                session,
                code=t.key,
                holder_name=after["holder_name"],
                bank_name=after["bank_name"],
                account_number=after["account_number"],
                currency=after["currency"],
                bic=after["bic"],
                branch=after["branch"],
            )
        await receiving.update(
            session,
            t.key,
            holder_name=after["holder_name"],
            bank_name=after["bank_name"],
            branch=after["branch"],
            active=after["active"],
        )
    elif t.kind == "rate":
        await rates.set_rate(
            session,
            t.key,
            Decimal(after["per_cny"]),
            Decimal(after["spread"]),
            change_id=change_id,
            now=now,
        )
    else:
        await values.set_calendar_year(
            session,
            int(t.key),
            [date.fromisoformat(d) for d in after["holidays"]],
            [date.fromisoformat(d) for d in after["workdays"]],
            change_id=change_id,
            now=now,
        )
