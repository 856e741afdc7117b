"""The bills ("账单"): the history by month with its filters and CSV, one transaction's details
(with "A question about this transaction?"), and the printable monthly statement with its CSV."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, format_skeleton
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.responses import Response

from qianbao.disputes import claims as dispute_claims
from qianbao.identity.phones import mask_phone
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError, ValidationFailed
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import CURRENCIES
from qianbao.kernel.text import from_typing, parse_day
from qianbao.wallet import accounts, export, history, insights, statement
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    login_redirect,
    notice_of,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


def _filters(params: dict[str, str]) -> tuple[history.Filters, dict[str, str]]:
    """The history filters of a page's query string; unknown choices fall back to "any". The
    amounts stay text: ``history.list_transactions`` parses them (and says what is wrong). A
    date the reader cannot read is ``ValidationFailed`` naming its field."""
    period = params.get("period", "all")
    if period not in ("all", "yesterday", "7d", "30d", "custom"):
        period = "all"
    direction = params.get("direction") if params.get("direction") in ("in", "out") else None
    status = params.get("status") if params.get("status") in history.STATUSES else None
    currency = params.get("currency") if params.get("currency") in CURRENCIES else None
    category = params.get("category") if params.get("category") in insights.CATEGORIES else None
    shown = {
        "category": category or "",
        "period": period,
        "direction": direction or "",
        "q": (params.get("q") or "")[:50],
        "start": (params.get("start") or "")[:16],
        "end": (params.get("end") or "")[:16],
        "status": status or "",
        "currency": currency or "",
        "min_amount": from_typing(params.get("min_amount") or "")[:32],
        "max_amount": from_typing(params.get("max_amount") or "")[:32],
    }
    if shown["start"] or shown["end"]:
        period = shown["period"] = "custom"
    filters = history.Filters(
        period=period,  # type: ignore[arg-type]
        direction=direction,  # type: ignore[arg-type]
        q=shown["q"] or None,
        status=status,  # type: ignore[arg-type]
        currency=currency,
        min_amount=shown["min_amount"] or None,
        max_amount=shown["max_amount"] or None,
        category=category,
    )
    return filters, shown


def _days(filters: history.Filters, shown: dict[str, str]) -> None:
    """Read the custom range's dates into ``filters`` (year first, as a Chinese date reads)."""
    for name in ("start", "end"):
        if shown[name]:
            day = parse_day(shown[name])
            if day is None:
                raise ValidationFailed(
                    N_("Enter the date year first, such as 2026-12-01."), field=name
                )
            setattr(filters, name, day)


@dataclass
class MonthGroup:
    month: date
    label: str
    totals: list[history.MonthTotal]
    rows: list[Any]


async def _month_groups(
    request: Request, user_id: uuid.UUID, filters: history.Filters, rows: list[Any]
) -> list[MonthGroup]:
    """The rows of a page by month (China time), each month with its in/out totals."""
    locale = locale_of(request)
    groups: list[MonthGroup] = []
    for row in rows:
        month = history.month_of(row.listed_at)
        if not groups or groups[-1].month != month:
            groups.append(MonthGroup(month, _month_label(month, locale), [], []))
        groups[-1].rows.append(row)
    totals = await history.month_totals(
        db_session(request), user_id, filters, [g.month for g in groups]
    )
    for group in groups:
        group.totals = [t for t in totals if t.month == group.month]
    return groups


@router.get("/wallet/history", response_class=HTMLResponse)
async def history_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    params = dict(request.query_params)
    filters, shown = _filters(params)
    problem, field = None, None
    groups: list[MonthGroup] = []
    next_cursor = None
    try:
        _days(filters, shown)
        page = await history.list_transactions(
            db_session(request),
            caller.user.id,
            filters,
            cursor=params.get("cursor") or None,
            limit=20,
        )
        next_cursor = page.next_cursor
        groups = await _month_groups(request, caller.user.id, filters, page.rows)
    except DomainError as exc:
        problem = domain_problem(exc, locale_of(request))
        field = exc.params.get("field")
    chosen = {k: v for k, v in shown.items() if v and not (k == "period" and v == "all")}
    more = (
        "/wallet/history?" + urlencode({**chosen, "cursor": next_cursor}) if next_cursor else None
    )
    owned = [b.currency for b in await accounts.balances(db_session(request), caller.user.id)]
    return render(
        request,
        "wallet/history.html",
        {
            "groups": groups,
            "shown": shown,
            "chosen": chosen,
            "more": more,
            "problem": problem,
            "field": field,
            "export_link": "/wallet/history.csv?" + urlencode(chosen),
            "currencies": owned,
            "amount_currency": filters.amount_currency or accounts.DEFAULT_CURRENCY,
            "statuses": _status_choices(),
            "period_links": _period_links(chosen),
            "active_filters": len(chosen.keys() - {"period", "start", "end", "category"}),
            "category_label": (
                insights.category_name(shown["category"]) if shown["category"] else None
            ),
            "without_category": "/wallet/history?"
            + urlencode({k: v for k, v in chosen.items() if k != "category"}),
        },
        status_code=problem.status if problem else 200,
    )


def _period_links(chosen: dict[str, str]) -> dict[str, str]:
    """The period chips: each keeps the other filters and sets its period."""
    rest = {k: v for k, v in chosen.items() if k not in ("period", "start", "end", "cursor")}
    return {
        period: "/wallet/history?"
        + urlencode({**rest, **({"period": period} if period != "all" else {})})
        for period in ("all", "yesterday", "7d", "30d")
    }


def _status_choices() -> list[tuple[str, str]]:
    """(value, label to translate) for the status filter; the labels are those of the export."""
    return [(value, export.STATUS_LABELS[value]) for value in history.STATUSES]


@router.get("/wallet/history.csv")
async def history_csv(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    filters, shown = _filters(dict(request.query_params))
    _days(filters, shown)
    # Streamed: each chunk is read in its own short transaction (the request's own ends, and
    # gives its connection back, before the first byte goes out).
    chunks = export.csv_stream(
        request.app.state.db,
        caller.user.id,
        filters,
        locale_of(request),
        now=clock_of(db_session(request)).now(),
    )
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.FILENAME}"'},
    )


@router.get("/wallet/tx/{transaction_id}", response_class=HTMLResponse)
async def transaction_page(request: Request, transaction_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    row = await history.get_transaction(s, caller.user.id, transaction_id)
    case = await dispute_claims.of_transaction(s, caller.user.id, row.id)
    return render(
        request,
        "wallet/transaction.html",
        {
            "tx": row,
            "notice": notice_of(request),
            # Straight after sending: the result page (a big tick, done / send again) on top.
            "just_sent": request.query_params.get("notice") == "sent"
            and row.kind == "transfer"
            and row.status == "completed",
            "case": case,
            "claimable": case is None
            and row.kind in ("transfer", "payment")
            and row.direction == "out"
            and row.status == "completed",
        },
    )


def _month_label(month: date, locale: str) -> str:
    """'2026年10月' / 'October 2026'."""
    return format_skeleton("yMMMM", month, locale=locale)


@router.get("/wallet/statement", response_class=HTMLResponse)
async def statement_page(request: Request) -> Response:
    """The monthly statement, printable (the print style sheet hides the navigation and the
    picker and fits A4). Without ``month``: the current month so far."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s, locale = db_session(request), locale_of(request)
    params = request.query_params
    owned = [b.currency for b in await accounts.balances(s, caller.user.id)]
    currency = params.get("currency", "")
    if currency not in owned:
        currency = accounts.DEFAULT_CURRENCY
    chosen = (params.get("month") or "").strip()[:16] or statement.month_key(
        statement.current_month(clock_of(s).now())
    )
    problem = None
    st = None
    try:
        st = await statement.monthly_statement(
            s, caller.user.id, statement.parse_month(chosen, clock_of(s).now()), currency
        )
    except DomainError as exc:
        problem = domain_problem(exc, locale)
    months = await statement.months_with_activity(s, caller.user.id, currency)
    if st is not None and st.month not in months:
        months = sorted({*months, st.month}, reverse=True)
    query = urlencode({"month": st.label, "currency": currency}) if st else ""
    last_day = st.end.date() - timedelta(days=1) if st else None
    return render(
        request,
        "wallet/statement.html",
        {
            "st": st,
            "problem": problem,
            "months": [(statement.month_key(m), _month_label(m, locale)) for m in months],
            "chosen": st.label if st else chosen,
            "currency": currency,
            "currencies": owned,
            "title_month": _month_label(st.month, locale) if st else "",
            "period": (
                f"{format_date(st.month, 'long', locale=locale)} – "
                f"{format_date(last_day, 'long', locale=locale)}"
                if st and last_day
                else ""
            ),
            "holder": caller.user.real_name or "",
            "holder_phone": mask_phone(caller.user.phone),
            "csv_link": f"/wallet/statement.csv?{query}" if st else None,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/statement.csv")
async def statement_csv(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    params = request.query_params
    currency = params.get("currency") or accounts.DEFAULT_CURRENCY
    month = statement.parse_month(params.get("month") or "", clock_of(s).now())
    st = await statement.monthly_statement(s, caller.user.id, month, currency[:8])
    return Response(
        export.statement_csv(st, locale_of(request)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.statement_filename(st)}"'},
    )
