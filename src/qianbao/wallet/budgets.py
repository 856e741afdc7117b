"""Budgets (B13): a monthly budget per spending category (or for all spending) and currency;
set, changed and removed by the user; an alert at 80 % and at 100 % of a budget, once per
budget, month and level.

The check (``check``) runs in the worker after spending rows are written
(``wallet.budget_tasks``): it reads the month's spending with the insights' aggregate, writes
the alert rows of the levels reached (``INSERT … ON CONFLICT DO NOTHING`` on a unique index, so
two checks racing write one row each level, and only the one that wrote it notifies), and tells
the user of the highest level it wrote: in the in-app inbox, and by SMS / e-mail when the
user's notification preferences allow money messages. Setting a budget below what was already
spent alerts at the next spending, not at once (the page shows the state meanwhile)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import AmountTooLarge as MoneyTooLarge
from qianbao.kernel.money import Money, MoneyError, TooManyDecimals
from qianbao.notifications import inbox, outbox_sealer
from qianbao.wallet import insights
from qianbao.wallet.errors_budgets import (
    AmountInvalid,
    AmountNotPositive,
    AmountTooLarge,
    AmountTooManyDecimals,
    BudgetNotFound,
    UnknownCategory,
)
from qianbao.wallet.models_budgets import BUDGET_CATEGORIES, LEVELS, Budget, BudgetAlert

WARNING_TEMPLATE = "wallet.budget_warning"  # 80 % (notifications.templates_budgets)
REACHED_TEMPLATE = "wallet.budget_reached"  # 100 %
TEMPLATE_OF_LEVEL = {80: WARNING_TEMPLATE, 100: REACHED_TEMPLATE}
# The largest budget: a trillion units is more than anyone spends in a month, and far from
# the bigint's end whatever the currency's decimals.
MAX_UNITS = 10**12


def check_category(category: str | None) -> str:
    if category not in BUDGET_CATEGORIES:
        raise UnknownCategory()
    return category


def parse_amount(text: str, currency: str) -> int:
    """A budget typed as a decimal string in ``currency`` (ASCII digits, at most the currency's
    decimals, more than zero) → minor units; anything else is a ``budget.*`` refusal."""
    try:
        amount = Money.parse(text, currency, allow_negative=True)
    except TooManyDecimals as exc:
        raise AmountTooManyDecimals(**exc.params) from None
    except MoneyTooLarge:
        raise AmountTooLarge() from None
    except MoneyError:
        raise AmountInvalid() from None
    if amount.minor <= 0:
        raise AmountNotPositive()
    if amount.minor > MAX_UNITS * 10**amount.exponent:
        raise AmountTooLarge()
    return amount.minor


# -- set, change, remove, list ---------------------------------------------------------------


async def set_budget(
    session: Any, user_id: uuid.UUID, *, category: str, currency: str, amount: str
) -> Budget:
    """Set the budget of ``category`` in ``currency`` (a new one, or a new amount)."""
    code = insights.check_currency(currency)
    check_category(category)
    minor = parse_amount(amount, code)
    now = clock_of(session).now()
    stmt = (
        insert(Budget)
        .values(
            id=uuid7(),
            user_id=user_id,
            currency=code,
            category=category,
            amount=minor,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["user_id", "currency", "category"],
            set_={"amount": minor, "updated_at": now},
        )
        .returning(Budget)
    )
    return (await session.execute(stmt)).scalar_one()


async def remove_budget(session: Any, user_id: uuid.UUID, *, category: str, currency: str) -> None:
    code = insights.check_currency(currency)
    check_category(category)
    gone = await session.execute(
        delete(Budget)
        .where(Budget.user_id == user_id, Budget.currency == code, Budget.category == category)
        .returning(Budget.id)
    )
    if gone.first() is None:
        raise BudgetNotFound()


@dataclass(frozen=True)
class BudgetState:
    category: str
    currency: str
    amount: int
    spent: int  # this month's net spending in the category (or in all of them)
    alerts: list[int] = field(default_factory=list)  # levels alerted this month

    @property
    def percent(self) -> int:
        """Whole percent of the budget spent (rounded down; 0 when nothing is spent)."""
        return max(0, self.spent) * 100 // self.amount

    @property
    def left(self) -> int:
        return self.amount - self.spent

    @property
    def state(self) -> str:
        """ok, warn (80 % or more) or over (100 % or more)."""
        return "over" if self.percent >= 100 else "warn" if self.percent >= 80 else "ok"


def spent_in(category: str, by_category: dict[str, int]) -> int:
    if category == insights.TOTAL:
        return sum(by_category.values())
    return by_category.get(category, 0)


async def budgets_of(session: Any, user_id: uuid.UUID, currency: str) -> list[Budget]:
    rows = await session.execute(
        select(Budget).where(Budget.user_id == user_id, Budget.currency == currency)
    )
    order = list(BUDGET_CATEGORIES)
    return sorted(rows.scalars(), key=lambda b: order.index(b.category))


async def alerts_of(
    session: Any, user_id: uuid.UUID, currency: str, month: date
) -> list[BudgetAlert]:
    rows = await session.execute(
        select(BudgetAlert)
        .where(
            BudgetAlert.user_id == user_id,
            BudgetAlert.currency == currency,
            BudgetAlert.month == month,
        )
        .order_by(BudgetAlert.created_at.desc(), BudgetAlert.level.desc())
    )
    return list(rows.scalars())


async def states(
    session: Any,
    user_id: uuid.UUID,
    currency: str,
    month: date,
    by_category: dict[str, int] | None = None,
) -> list[BudgetState]:
    """The user's budgets in ``currency`` with what was spent against each in ``month``."""
    found = await budgets_of(session, user_id, currency)
    if not found:
        return []
    if by_category is None:
        by_category = await insights.month_spending(session, user_id, currency, month)
    alerted: dict[str, list[int]] = {}
    for a in await alerts_of(session, user_id, currency, month):
        alerted.setdefault(a.category, []).append(a.level)
    return [
        BudgetState(
            b.category,
            currency,
            b.amount,
            spent_in(b.category, by_category),
            sorted(alerted.get(b.category, [])),
        )
        for b in found
    ]


# -- the check and the alerts ---------------------------------------------------------------


@dataclass(frozen=True)
class Alerted:
    category: str
    level: int
    spent: int
    budget: int


async def check(
    session: Any, settings: Any, user_id: uuid.UUID, currency: str, month: date | None = None
) -> list[Alerted]:
    """Alert the user of every budget in ``currency`` that reached 80 % or 100 % in ``month``
    (this month by default; an earlier month is over and is not checked). Returns the alerts
    sent now (the highest new level of each budget)."""
    current = insights.this_month(session)
    month = month or current
    if month != current:
        return []
    found = await budgets_of(session, user_id, currency)
    if not found:
        return []
    by_category = await insights.month_spending(session, user_id, currency, month)
    sent: list[Alerted] = []
    for b in found:
        spent = spent_in(b.category, by_category)
        reached = [level for level in LEVELS if spent * 100 >= b.amount * level]
        if not reached:
            continue
        written = await session.execute(
            insert(BudgetAlert)
            .values(
                [
                    {
                        "id": uuid7(),
                        "user_id": user_id,
                        "currency": currency,
                        "category": b.category,
                        "month": month,
                        "level": level,
                        "spent": spent,
                        "budget": b.amount,
                        "created_at": clock_of(session).now(),
                    }
                    for level in reached
                ]
            )
            .on_conflict_do_nothing(
                index_elements=["user_id", "currency", "category", "month", "level"]
            )
            .returning(BudgetAlert.level)
        )
        new = list(written.scalars())
        if new:  # crossing both at once says the highest only
            sent.append(Alerted(b.category, max(new), spent, b.amount))
    for alert in sent:
        await _notify(session, settings, user_id, currency, month, alert)
    return sent


async def _notify(
    session: Any, settings: Any, user_id: uuid.UUID, currency: str, month: date, a: Alerted
) -> None:
    template = TEMPLATE_OF_LEVEL[a.level]
    params = {
        "category": insights.category_name(a.category),
        "spent": Money(a.spent, currency).text(),
        "budget": Money(a.budget, currency).text(),
        "percent": str(a.spent * 100 // a.budget),
        "month": month.strftime("%Y-%m"),
    }
    created = await inbox.add(
        session,
        user_id=user_id,
        template=template,
        params=params,
        link=f"/wallet/budgets?currency={currency}",
        dedup_key=f"budget:{user_id}:{currency}:{a.category}:{month:%Y-%m}:{a.level}",
    )
    user = await session.get(User, user_id)
    if not created or user is None or settings is None:  # settings: the sealer of the outbox
        return
    await inbox.send_by_preference(session, user, template, params, outbox_sealer(settings))
