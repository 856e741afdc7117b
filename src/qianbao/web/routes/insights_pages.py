"""Spending insights (charts by category and month) and budgets (B13).

``/wallet/insights``: a month's spending (a month switcher, a currency switch when the user holds
several), a donut by category, the categories with their amount and share (each a link to that
month's outgoing money in the bills), the last six months as bars, this month's budgets.
``/wallet/budgets``: the budgets with their progress, this month's alerts, and the form that
sets, changes and removes them (it keeps what was typed when something is wrong)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_skeleton
from babel.numbers import format_compact_currency, format_compact_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import CURRENCIES, Money
from qianbao.kernel.text import from_typing
from qianbao.kernel.translations import gettext
from qianbao.wallet import budgets, insights
from qianbao.wallet.accounts import DEFAULT_CURRENCY
from qianbao.wallet.models_budgets import BUDGET_CATEGORIES
from qianbao.web import charts
from qianbao.web.formatting import format_money
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

SAVED = N_("The budget for {category} is saved.")
REMOVED = N_("The budget for {category} is removed.")
# The form field a budget refusal is about (shown under it).
FIELD_OF = {
    "budget.unknown_category": "category",
    "budget.amount_invalid": "amount",
    "budget.amount_decimals": "amount",
    "budget.amount_not_positive": "amount",
    "budget.amount_too_large": "amount",
}


def _name(category: str, locale: str) -> str:
    return gettext(locale, insights.category_name(category))


def _month_label(month: date, locale: str) -> str:
    return format_skeleton("yMMMM", month, locale=locale)


def short_money(minor: int, currency: str, locale: str) -> str:
    """A bar's label: whole units from 100 up, 万 / K beyond ("¥1.2万", "CN¥12.3K")."""
    value = Decimal(minor).scaleb(-CURRENCIES[currency].exponent)
    if abs(value) >= 100:
        value = value.quantize(Decimal(1), ROUND_HALF_UP)
    if currency == "USDT":
        return f"{format_compact_decimal(value, locale=locale, fraction_digits=1)} USDT"
    return format_compact_currency(value, currency, locale=locale, fraction_digits=1)


def _insights_url(month: date, currency: str) -> str:
    return "/wallet/insights?" + urlencode({"month": f"{month:%Y-%m}", "currency": currency})


def _history_url(month: date, currency: str, category: str | None = None) -> str:
    """The bills of the month in ``currency``: a category's rows (its payments and their
    refunds, transfers, fees), or the month's outgoing money."""
    last = insights.add_months(month, 1).toordinal() - 1
    query = {
        "start": f"{month:%Y-%m-%d}",
        "end": f"{date.fromordinal(last):%Y-%m-%d}",
        "currency": currency,
    }
    query.update({"category": category} if category else {"direction": "out"})
    return "/wallet/history?" + urlencode(query)


def _change_text(found: insights.Insights, locale: str) -> str:
    cur = found.currency
    if found.previous_total <= 0 and found.total <= 0:
        return ""
    if found.previous_total <= 0:
        return gettext(locale, N_("Nothing was spent the month before."))
    amount = format_money(abs(found.change), cur, locale)
    pct = found.change_percent
    if found.change > 0:
        return gettext(
            locale, N_("{amount} more than the month before (+{percent}%)."),
            amount=amount, percent=pct,
        )  # fmt: skip
    if found.change < 0:
        return gettext(
            locale, N_("{amount} less than the month before (−{percent}%)."),
            amount=amount, percent=abs(pct) if pct is not None else 0,
        )  # fmt: skip
    return gettext(locale, N_("The same as the month before."))


async def _insights_context(
    request: Request, user_id: Any, month: date, currency: str
) -> dict[str, Any]:
    s = db_session(request)
    locale = locale_of(request)
    found = await insights.insights(s, user_id, month=month, currency=currency)
    current = insights.this_month(s)
    states = []
    if month == current:
        by_category = {c.category: c.amount for c in found.categories}
        states = await budgets.states(s, user_id, currency, month, by_category)
    label = _month_label(month, locale)
    slices = [
        charts.Slice(
            c.category,
            _name(c.category, locale),
            c.amount,
            format_money(c.amount, currency, locale),
            f"{c.share}%" if c.share is not None else "",
        )
        for c in found.categories
    ]
    total_text = format_money(found.total, currency, locale)
    donut = charts.donut(
        slices,
        chart_id="spend-donut",
        title=gettext(locale, N_("Spending by category, {month}"), month=label),
        # The ring's middle: the largest category's share (the total is written above it).
        center_text=slices[0].share_text if slices and slices[0].share_text else total_text,
        center_sub=slices[0].label if slices and slices[0].share_text else "",
        empty_text=gettext(locale, N_("No spending")),
    )
    bars = charts.bars(
        [
            charts.Bar(
                label=format_skeleton("MMM", m.month, locale=locale),
                value=m.amount,
                value_text=short_money(m.amount, currency, locale) if m.amount > 0 else "",
                full_text=f"{_month_label(m.month, locale)}: "
                f"{format_money(m.amount, currency, locale)}",
                href=_insights_url(m.month, currency),
                current=m.month == month,
            )
            for m in found.months
        ],
        chart_id="spend-months",
        title=gettext(locale, N_("Spending by month, in {currency}"), currency=currency),
        empty_text=gettext(locale, N_("No spending in these months")),
    )
    return {
        "found": found,
        "month": month,
        "month_label": label,
        "is_current": month == current,
        "previous_url": _insights_url(insights.add_months(month, -1), currency),
        "next_url": _insights_url(insights.add_months(month, 1), currency)
        if month < current
        else None,
        "currency": currency,
        "currencies": await insights.currencies(s, user_id),
        "rows": slices,
        "history_url": _history_url(month, currency),
        "category_urls": {key: _history_url(month, currency, key) for key in insights.CATEGORIES},
        "total_text": total_text,
        "change_text": _change_text(found, locale),
        "donut": donut,
        "bars": bars,
        "states": [_state_view(b, locale) for b in states],
        "budgets_url": "/wallet/budgets?" + urlencode({"currency": currency}),
    }


def _state_view(b: budgets.BudgetState, locale: str) -> dict[str, Any]:
    cur = b.currency
    return {
        "key": b.category,
        "name": _name(b.category, locale),
        "amount": format_money(b.amount, cur, locale),
        "spent": format_money(b.spent, cur, locale),
        "left": format_money(abs(b.left), cur, locale),
        "over": b.left < 0,
        "percent": b.percent,
        "bar": min(b.percent, 100),
        "state": b.state,
        "alerts": b.alerts,
        "amount_input": Money(b.amount, cur).to_decimal_string(),
    }


@router.get("/wallet/insights", response_class=HTMLResponse)
async def insights_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    params = request.query_params
    problem = None
    try:
        currency = insights.check_currency(params.get("currency"))
    except DomainError as exc:
        problem, currency = domain_problem(exc, locale_of(request)), DEFAULT_CURRENCY
    try:
        month = insights.parse_month(params.get("month"), clock_of(s).now())
    except DomainError as exc:
        problem, month = domain_problem(exc, locale_of(request)), insights.this_month(s)
    context = await _insights_context(request, caller.user.id, month, currency)
    return render(
        request,
        "wallet/insights.html",
        {**context, "problem": problem},
        status_code=problem.status if problem else 200,
    )


# -- budgets ---------------------------------------------------------------------------------


async def _budgets_page(
    request: Request,
    user_id: Any,
    currency: str,
    *,
    values: dict[str, str] | None = None,
    exc: DomainError | None = None,
    notice: str | None = None,
) -> Response:
    s = db_session(request)
    locale = locale_of(request)
    month = insights.this_month(s)
    states = await budgets.states(s, user_id, currency, month)
    views = [_state_view(b, locale) for b in states]
    alerts = [
        {
            "name": _name(a.category, locale),
            "level": a.level,
            "spent": format_money(a.spent, currency, locale),
            "budget": format_money(a.budget, currency, locale),
        }
        for a in await budgets.alerts_of(s, user_id, currency, month)
    ]
    edit = request.query_params.get("edit")
    editing = next((v for v in views if v["key"] == edit), None)
    if values is None:
        values = {
            "category": editing["key"] if editing else "",
            "amount": editing["amount_input"] if editing else "",
        }
    problem = domain_problem(exc, locale) if exc else None
    set_amounts = {v["key"]: v["amount"] for v in views}
    return render(
        request,
        "wallet/budgets.html",
        {
            "currency": currency,
            "currencies": await insights.currencies(s, user_id),
            "month_label": _month_label(month, locale),
            "states": views,
            "alerts": alerts,
            "choices": [(c, _name(c, locale), set_amounts.get(c)) for c in BUDGET_CATEGORIES],
            "values": values,
            "editing": editing is not None or bool(values.get("category") in set_amounts),
            "problem": problem,
            "field": FIELD_OF.get(problem.code) if problem else None,
            "notice": notice,
            "insights_url": _insights_url(month, currency),
        },
        status_code=problem.status if problem else 200,
    )


def _notice(request: Request) -> str | None:
    locale = locale_of(request)
    for key, msgid in (("saved", SAVED), ("removed", REMOVED)):
        category = request.query_params.get(key)
        if category in BUDGET_CATEGORIES:
            return gettext(locale, msgid, category=_name(category, locale))
    return None


@router.get("/wallet/budgets", response_class=HTMLResponse)
async def budgets_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    try:
        currency = insights.check_currency(request.query_params.get("currency"))
    except DomainError as exc:
        return await _budgets_page(request, caller.user.id, DEFAULT_CURRENCY, exc=exc)
    return await _budgets_page(request, caller.user.id, currency, notice=_notice(request))


@router.post("/wallet/budgets", response_class=HTMLResponse)
async def set_budget(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {
        "category": form.get("category", "")[:16],
        "amount": from_typing(form.get("amount", ""))[:32],  # "５００" from an IME: 500
    }
    currency = form.get("currency", "")[:8] or DEFAULT_CURRENCY
    try:
        saved = await budgets.set_budget(
            db_session(request), caller.user.id, category=values["category"],
            currency=currency, amount=values["amount"],
        )  # fmt: skip
    except DomainError as exc:
        code = currency if currency in CURRENCIES else DEFAULT_CURRENCY
        return await _budgets_page(request, caller.user.id, code, values=values, exc=exc)
    query = urlencode({"currency": saved.currency, "saved": saved.category})
    return redirect(f"/wallet/budgets?{query}", anchor=f"budget-{saved.category}")


@router.post("/wallet/budgets/remove", response_class=HTMLResponse)
async def remove_budget(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    category = form.get("category", "")[:16]
    currency = form.get("currency", "")[:8] or DEFAULT_CURRENCY
    try:
        await budgets.remove_budget(
            db_session(request), caller.user.id, category=category, currency=currency
        )
    except DomainError as exc:
        code = currency if currency in CURRENCIES else DEFAULT_CURRENCY
        return await _budgets_page(request, caller.user.id, code, exc=exc)
    return redirect("/wallet/budgets?" + urlencode({"currency": currency, "removed": category}))
