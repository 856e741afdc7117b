"""The spending insights and budgets API (B13).

``GET /insights`` gives a month's spending by category, the month before and the last months'
totals; ``/budgets`` lists, sets (``PUT``, by category) and removes the monthly budgets. Amounts
are decimal strings with their currency. Errors are problem+json with ``budget.*`` codes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, require_ready_caller
from qianbao.kernel.clock import clock_of
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of
from qianbao.kernel.translations import gettext
from qianbao.wallet import budgets, insights
from qianbao.wallet.api import CurrencyIn, MoneyOut, money

router = APIRouter(prefix="/api/v1/wallet", tags=["insights and budgets"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]
Category = Annotated[
    str,
    Path(
        max_length=16,
        description="A spending category: " + ", ".join([insights.TOTAL, *insights.CATEGORIES]),
    ),
]


class CategoryOut(BaseModel):
    category: str
    name: str = Field(description="In the caller's language")
    amount: MoneyOut = Field(description="Net: spent minus what came back (may be negative)")
    share_percent: str | None = Field(
        description="Share of the month's spending, one decimal; null when not positive"
    )


class MonthOut(BaseModel):
    month: str = Field(examples=["2026-12"])
    total: MoneyOut


class BudgetOut(BaseModel):
    category: str
    name: str
    month: str = Field(description="The month ``spent`` is of (this month)")
    amount: MoneyOut = Field(description="The monthly budget")
    spent: MoneyOut
    left: MoneyOut = Field(description="Negative once the budget is exceeded")
    percent: int = Field(description="Whole percent of the budget spent, rounded down")
    state: Literal["ok", "warn", "over"] = Field(description="warn from 80 %, over from 100 %")
    alerts: list[int] = Field(description="Levels alerted this month (80, 100)")


class InsightsOut(BaseModel):
    month: str
    currency: str
    currencies: list[str] = Field(description="The currencies the caller holds")
    total: MoneyOut
    previous_total: MoneyOut = Field(description="The month before")
    change: MoneyOut
    change_percent: str | None = Field(description="Against the month before; null without one")
    categories: list[CategoryOut] = Field(description="Largest first")
    months: list[MonthOut] = Field(description="Oldest first, ending with ``month``")
    budgets: list[BudgetOut] = Field(description="This month's budgets (only for this month)")


class BudgetIn(BaseModel):
    amount: str = Field(max_length=32, examples=["500.00"], description="A month's budget")
    currency: CurrencyIn


def budget_out(b: budgets.BudgetState, month: str, locale: str) -> BudgetOut:
    return BudgetOut(
        category=b.category,
        name=gettext(locale, insights.category_name(b.category)),
        month=month,
        amount=money(b.amount, b.currency),
        spent=money(b.spent, b.currency),
        left=money(b.left, b.currency),
        percent=b.percent,
        state=b.state,
        alerts=b.alerts,
    )


@router.get("/insights", response_model=InsightsOut, summary="Spending by category and month")
async def get_insights(
    request: Request,
    s: DbSession,
    caller: Me,
    month: Annotated[str | None, Query(max_length=16, examples=["2026-12"])] = None,
    currency: Annotated[str | None, Query(max_length=8)] = None,
    months: Annotated[int, Query(ge=2, le=12, description="How many months of totals")] = 6,
) -> InsightsOut:
    """Errors: `budget.month_invalid` (not ``YYYY-MM``), `budget.month_in_future`,
    `budget.unknown_currency`."""
    locale = locale_of(request)
    code = insights.check_currency(currency)
    wanted = insights.parse_month(month, clock_of(s).now())
    found = await insights.insights(s, caller.user.id, month=wanted, currency=code, span=months)
    label = f"{wanted:%Y-%m}"
    states = []
    if wanted == insights.this_month(s):
        by_category = {c.category: c.amount for c in found.categories}
        states = await budgets.states(s, caller.user.id, code, wanted, by_category)
    change = found.change_percent
    return InsightsOut(
        month=label,
        currency=code,
        currencies=await insights.currencies(s, caller.user.id),
        total=money(found.total, code),
        previous_total=money(found.previous_total, code),
        change=money(found.change, code),
        change_percent=format(change, "f") if change is not None else None,
        categories=[
            CategoryOut(
                category=c.category,
                name=gettext(locale, insights.category_name(c.category)),
                amount=money(c.amount, code),
                share_percent=format(c.share, "f") if c.share is not None else None,
            )
            for c in found.categories
        ],
        months=[
            MonthOut(month=f"{m.month:%Y-%m}", total=money(m.amount, code)) for m in found.months
        ],
        budgets=[budget_out(b, label, locale) for b in states],
    )


@router.get("/budgets", response_model=list[BudgetOut], summary="Your budgets, with this month")
async def list_budgets(
    request: Request,
    s: DbSession,
    caller: Me,
    currency: Annotated[str | None, Query(max_length=8)] = None,
) -> list[BudgetOut]:
    """Errors: `budget.unknown_currency`."""
    code = insights.check_currency(currency)
    month = insights.this_month(s)
    found = await budgets.states(s, caller.user.id, code, month)
    return [budget_out(b, f"{month:%Y-%m}", locale_of(request)) for b in found]


@router.put(
    "/budgets/{category}",
    response_model=BudgetOut,
    summary="Set or change the monthly budget of a category",
)
async def put_budget(
    category: Category, body: BudgetIn, request: Request, s: DbSession, caller: Me
) -> BudgetOut:
    """``total`` is a budget for all spending. Errors: `budget.unknown_category`,
    `budget.unknown_currency`, `budget.amount_invalid` (not a plain decimal number),
    `budget.amount_decimals` (more decimals than the currency has), `budget.amount_not_positive`,
    `budget.amount_too_large`."""
    saved = await budgets.set_budget(
        s, caller.user.id, category=category, currency=body.currency, amount=body.amount
    )
    month = insights.this_month(s)
    found = await budgets.states(s, caller.user.id, saved.currency, month)
    state = next(b for b in found if b.category == saved.category)
    return budget_out(state, f"{month:%Y-%m}", locale_of(request))


@router.delete(
    "/budgets/{category}", status_code=204, summary="Remove the monthly budget of a category"
)
async def delete_budget(
    category: Category,
    s: DbSession,
    caller: Me,
    currency: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """Errors: `budget.not_found`, `budget.unknown_category`, `budget.unknown_currency`."""
    await budgets.remove_budget(s, caller.user.id, category=category, currency=currency or "")
    return Response(status_code=204)
