"""Spending insights (B13): what a user spent, by category and by month, in one currency.

What counts as spending (completed rows only — pending, failed and reversed rows moved nothing —
in the month of their ``listed_at`` on the wallet's calendar, China time):

- a payment to a shop: its amount, in the category of the shop's merchant category code (MCC),
  grouped into a few spending categories (``MCC_CATEGORIES``);
- money back from a shop (a refund or a chargeback, which carry the shop's MCC): minus its
  amount, in that category — in the month it came back, so a month can be negative in one
  category;
- a transfer to a person: ``transfers``; money back from a claim about a transfer (a refund
  row without a shop: ``details.case``) is minus in ``transfers``;
- fees: the ``fee`` of every outgoing row (a withdrawal's fee, an exchange's spread) and rows of
  kind ``fee`` (minus when one comes back): ``fees``.

Not spending: top-ups, withdrawals (the money stays the user's, at their bank), exchanges (the
money stays the user's, in another currency; only their spread is a fee), money received, a
recipient's money taken back after a claim, adjustments.

All sums are integers in minor units, straight from PostgreSQL's ``sum``: exact."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select

from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import CURRENCIES
from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.wallet.accounts import DEFAULT_CURRENCY
from qianbao.wallet.errors_budgets import MonthInFuture, MonthInvalid, UnknownCurrency
from qianbao.wallet.models import WalletTransaction

# The spending categories, in the order pages list them when amounts are equal.
CATEGORIES: dict[str, str] = {
    "food": N_("Food and drink"),
    "shopping": N_("Shopping"),
    "transport": N_("Transport"),
    "bills": N_("Phone and utilities"),
    "leisure": N_("Travel and entertainment"),
    "health": N_("Health"),
    "education": N_("Education"),
    "other": N_("Other spending"),
    "transfers": N_("Transfers to people"),
    "fees": N_("Service fees"),
}
TOTAL = "total"
TOTAL_NAME = N_("All spending")

# Merchant category codes (``merchants.categories``, which this layer may not import; a unit
# test checks that every code there has a category here) → spending category. A code not
# listed is ``other``.
MCC_CATEGORIES: dict[str, str] = {
    "5411": "food", "5499": "food", "5812": "food", "5814": "food",
    "5311": "shopping", "5399": "shopping", "5651": "shopping", "5732": "shopping",
    "5942": "shopping", "5945": "shopping", "5815": "shopping", "5999": "shopping",
    "4111": "transport", "4121": "transport", "5541": "transport",
    "4814": "bills", "4900": "bills",
    "7011": "leisure", "7832": "leisure",
    "5912": "health", "8062": "health",
    "8211": "education",
    "7299": "other",
}  # fmt: skip

MONTHS_SHOWN = 6  # the pages' bar chart; the API gives up to 12
FIRST_YEAR = 2000  # no wallet history before it
_MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def category_name(category: str) -> str:
    """The msgid of a spending category's name (or of ``total``)."""
    return TOTAL_NAME if category == TOTAL else CATEGORIES[category]


def category_of(mcc: str | None) -> str:
    return MCC_CATEGORIES.get(mcc or "", "other")


def category_condition(category: str) -> Any:
    """The wallet rows a spending category's amount comes from (the bills' category filter, so a
    category on the insights page opens exactly its rows)."""
    t = WalletTransaction
    if category == "fees":
        return or_(and_(t.direction == "out", t.fee > 0), t.kind == "fee")
    if category == "transfers":
        return or_(
            and_(t.kind == "transfer", t.direction == "out"),
            and_(t.kind == "refund", t.details.has_key("case"), ~t.details.has_key("category")),
        )
    shop = t.kind.in_(("payment", "refund"))
    code = t.details["category"].astext
    codes = [c for c, cat in MCC_CATEGORIES.items() if cat == category]
    if category == "other":
        known = list(MCC_CATEGORIES)
        return and_(
            shop,
            or_(code.in_(codes), and_(code.is_not(None), code.not_in(known)),
                and_(code.is_(None), ~t.details.has_key("case"))),
        )  # fmt: skip
    return and_(shop, code.in_(codes))


# -- months on the wallet's calendar ---------------------------------------------------------


def parse_month(text: str | None, now: datetime) -> date:
    """``"2026-12"`` → 2026-12-01; empty → this month. A month that has not begun is refused."""
    current = month_of(now)
    if not text:
        return current
    match = _MONTH_RE.fullmatch(text)
    if match is None:
        raise MonthInvalid()
    if int(match.group(1)) < FIRST_YEAR:  # (and no month arithmetic below year 1)
        raise MonthInvalid()
    month = date(int(match.group(1)), int(match.group(2)), 1)
    if month > current:
        raise MonthInFuture()
    return month


def month_of(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date().replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date) -> datetime:
    return datetime.combine(month, time.min, tzinfo=LOCAL_TZ)


def check_currency(code: str | None) -> str:
    code = (code or DEFAULT_CURRENCY).strip().upper()
    if code not in CURRENCIES:
        raise UnknownCurrency(currency=code[:8])
    return code


# -- the aggregate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """One row of the aggregate: the sums of one month, kind, direction and shop category."""

    month: date
    kind: str
    direction: str
    mcc: str | None
    case: bool  # money back after a claim (no shop)
    amount: int
    fee: int


def fold(groups: Iterable[Group]) -> dict[date, dict[str, int]]:
    """Spending per month and category from the aggregate's groups (the rules at the top)."""
    out: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g in groups:
        spent = out[g.month]
        if g.direction == "out" and g.fee:
            spent["fees"] += g.fee
        if g.kind == "payment" and g.direction == "out":
            spent[category_of(g.mcc)] += g.amount
        elif g.kind == "refund" and g.direction == "in":
            spent["transfers" if g.mcc is None and g.case else category_of(g.mcc)] -= g.amount
        elif g.kind == "transfer" and g.direction == "out":
            spent["transfers"] += g.amount
        elif g.kind == "fee":
            spent["fees"] += g.amount if g.direction == "out" else -g.amount
    return {m: {c: v for c, v in cats.items() if v} for m, cats in out.items()}


async def spending(
    session: Any, user_id: uuid.UUID, currency: str, first: date, last: date
) -> dict[date, dict[str, int]]:
    """Spending per month (``first`` to ``last``, whole months) and category: one statement
    over the user's rows (the history index (user, listed_at) as a range)."""
    t = WalletTransaction
    month = func.date_trunc("month", func.timezone(str(LOCAL_TZ), t.listed_at)).label("month")
    mcc = t.details["category"].astext.label("mcc")
    case = t.details.has_key("case").label("is_case")
    stmt = (
        select(month, t.kind, t.direction, mcc, case, func.sum(t.amount), func.sum(t.fee))
        .where(
            t.user_id == user_id,
            t.listed_at >= month_start(first),
            t.listed_at < month_start(add_months(last, 1)),
            t.currency == currency,
            t.status == "completed",
            or_(t.kind.in_(("payment", "refund", "transfer", "fee")), t.fee > 0),
        )
        .group_by(month, t.kind, t.direction, mcc, case)
    )
    rows = (await session.execute(stmt)).all()
    return fold(
        Group(r[0].date(), r[1], r[2], r[3], bool(r[4]), int(r[5]), int(r[6])) for r in rows
    )


async def month_spending(
    session: Any, user_id: uuid.UUID, currency: str, month: date
) -> dict[str, int]:
    return (await spending(session, user_id, currency, month, month)).get(month, {})


# -- what the pages and the API show --------------------------------------------------------


@dataclass(frozen=True)
class CategorySpend:
    category: str
    amount: int  # net, minor units (negative when more came back than was spent)
    share: Decimal | None  # percent of the month's spending, one decimal; None when not positive


@dataclass(frozen=True)
class MonthTotal:
    month: date
    amount: int


@dataclass(frozen=True)
class Insights:
    month: date
    currency: str
    categories: list[CategorySpend]  # largest first; only categories with money
    total: int
    previous_total: int
    months: list[MonthTotal]  # oldest first, ending with ``month``

    @property
    def change(self) -> int:
        return self.total - self.previous_total

    @property
    def change_percent(self) -> Decimal | None:
        """The change against the previous month in percent (one decimal), None without one."""
        if self.previous_total <= 0:
            return None
        return percent(self.change, self.previous_total)


def percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def shares(by_category: dict[str, int]) -> list[CategorySpend]:
    order = list(CATEGORIES)
    positive = sum(v for v in by_category.values() if v > 0)
    return [
        CategorySpend(c, v, percent(v, positive) if v > 0 and positive else None)
        for c, v in sorted(by_category.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
    ]


async def insights(
    session: Any,
    user_id: uuid.UUID,
    *,
    month: date,
    currency: str,
    span: int = MONTHS_SHOWN,
) -> Insights:
    """The month's spending by category, its comparison with the month before and the totals
    of the ``span`` months ending with it (one aggregate for all of it)."""
    span = max(2, min(span, 12))
    first = add_months(month, -(span - 1))
    found = await spending(session, user_id, currency, first, month)
    totals = [
        MonthTotal(m, sum(found.get(m, {}).values()))
        for m in (add_months(first, i) for i in range(span))
    ]
    return Insights(
        month=month,
        currency=currency,
        categories=shares(found.get(month, {})),
        total=totals[-1].amount,
        previous_total=totals[-2].amount,
        months=totals,
    )


async def currencies(session: Any, user_id: uuid.UUID) -> list[str]:
    """The currencies the user holds a wallet in (the default one first, always there)."""
    ledger = await Ledger.of_session(session)
    held = {
        a.currency
        for a in await ledger_accounts.accounts_of_owner(ledger.conn, user_id)
        if a.kind == "user_wallet"
    }
    return [DEFAULT_CURRENCY, *sorted(held - {DEFAULT_CURRENCY})]


def this_month(session: Any) -> date:
    return month_of(clock_of(session).now())
