"""The wallet pages: home (balances, recent, shortcuts), sending money (form → check the
recipient → confirm with the PIN), history with filters, one transaction's details, and the
printable monthly statement (with its CSV)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, format_skeleton
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.disputes import claims as dispute_claims
from qianbao.disputes import mistaken as dispute_mistaken
from qianbao.identity.deps import Caller, client_ip, identity_ctx
from qianbao.identity.phones import mask_phone
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.money import CURRENCIES, Money, MoneyError
from qianbao.kernel.text import from_typing
from qianbao.notifications import inbox
from qianbao.wallet import accounts, export, history, limits, statement, transfer
from qianbao.wallet import held as held_transfers
from qianbao.wallet.errors import CannotPaySelf, NoteTooLong, RecipientNotFound
from qianbao.wallet.risk_checks import StepUpRequired
from qianbao.web.problems import domain_problem
from qianbao.web.routes import step_up_view
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


@router.get("/wallet", response_class=HTMLResponse)
async def wallet_home(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    balances = await accounts.balances(s, caller.user.id)
    recent = await history.list_transactions(s, caller.user.id, history.Filters(), limit=5)
    return render(
        request,
        "wallet/home.html",
        {
            "balances": balances,
            "recent": recent.rows,
            "notice": notice_of(request),
            "pin_set": caller.user.pin_hash is not None,
            "frozen": caller.user.frozen_at is not None,
            "name": caller.user.real_name,
            "unread": await inbox.unread_count(s, caller.user.id),
            "held": await held_transfers.waiting(s, caller.user.id),
            "returns": await dispute_mistaken.asked_of(s, caller.user.id),
        },
    )


async def _transfer_form(
    request: Request, caller: Caller, values: dict[str, str], exc: DomainError | None = None
) -> Response:
    problem = domain_problem(exc, locale_of(request)) if exc else None
    limit, decision = await limits.allowance(db_session(request), caller.user, "transfer", "CNY")
    return render(
        request,
        "wallet/transfer.html",
        {"values": values, "problem": problem, "limit": limit, "decision": decision},
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/transfer", response_class=HTMLResponse)
async def transfer_form(request: Request, to: str = "") -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _transfer_form(request, caller, {"to": to[:32], "amount": "", "note": ""})


@router.post("/wallet/transfer/check", response_class=HTMLResponse)
async def transfer_check(request: Request) -> Response:
    """Step 2: show who will receive the money (masked) before asking for the PIN."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {k: form.get(k, "").strip() for k in ("to", "amount", "note")}
    values["amount"] = from_typing(values["amount"])  # "１００" from an IME: 100
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"], "CNY", allow_zero=False)
        recipient = await transfer.find_recipient(
            db_session(request), identity_ctx(request), caller.user, values["to"]
        )
        if len(values["note"]) > transfer.MAX_NOTE:
            raise NoteTooLong()
    except DomainError as exc:
        return await _transfer_form(request, caller, values, exc)
    return render(
        request,
        "wallet/transfer_confirm.html",
        {
            "values": values,
            "recipient": recipient,
            "amount": amount,
            "key": uuid.uuid4().hex,
            "problem": None,
        },
    )


@router.post("/wallet/transfer", response_class=HTMLResponse)
async def transfer_send(request: Request) -> Response:
    """Step 3: the PIN. The idempotency key came with the confirm page: a double click or a
    reload sends the money once."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {k: form.get(k, "").strip() for k in ("to", "amount", "note")}
    values["amount"] = from_typing(values["amount"])  # "１００" from an IME: 100
    key = form.get("key", "")[:64] or uuid.uuid4().hex
    s, ctx = db_session(request), identity_ctx(request)
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"], "CNY", allow_zero=False)
        done = await transfer.send(
            s,
            ctx,
            caller.user,
            to=values["to"],
            amount=amount,
            note=values["note"],
            pin=form.get("pin", ""),
            key=key,
            device_id=caller.session.device_id,
            proof=step_up_view.proof_of(form),
        )
    except (RecipientNotFound, CannotPaySelf, MoneyError) as exc:
        return await _transfer_form(request, caller, values, exc)
    except DomainError as exc:  # a wrong PIN, funds, limits: back to the confirm step
        recipient = await transfer.find_recipient(s, ctx, caller.user, values["to"])
        problem: Any = domain_problem(exc, locale_of(request))
        step_up: Any = None
        asked = isinstance(exc, StepUpRequired)
        if asked or step_up_view.kept(form):
            # The rules want one more check: the code and the passkey name the amount and payee.
            async def send_code() -> Any:
                if asked:
                    await transfer.request_step_up_code(
                        s, ctx, caller.user, to=values["to"], amount=amount, ip=client_ip(request)
                    )

            step_up = await step_up_view.ask(
                request,
                caller,
                s,
                send_code,
                options_url="/api/v1/wallet/transfers/step-up-passkey",
                body={"to": values["to"], "amount": values["amount"], "currency": "CNY"},
            )
            if asked:
                problem = None
        return render(
            request,
            "wallet/transfer_confirm.html",
            {
                "values": values,
                "recipient": recipient,
                "amount": amount,
                "key": key,
                "problem": problem,
                "step_up": step_up,
            },
            status_code=problem.status if problem else 200,
        )
    if done.held_id is not None:
        return redirect(f"/wallet/held/{done.held_id}")
    target = f"/wallet/tx/{done.transaction_id}"
    return redirect(target, notice="sent")


def _filters(params: dict[str, str]) -> tuple[history.Filters, dict[str, str]]:
    """The history filters of a page's query string; unknown choices fall back to "any". The
    amounts stay text: ``history.list_transactions`` parses them (and says what is wrong)."""
    period = params.get("period", "all")
    if period not in ("all", "yesterday", "7d", "30d", "custom"):
        period = "all"
    direction = params.get("direction") if params.get("direction") in ("in", "out") else None
    status = params.get("status") if params.get("status") in history.STATUSES else None
    currency = params.get("currency") if params.get("currency") in CURRENCIES else None

    def day(value: str | None) -> date | None:
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            return None

    filters = history.Filters(
        period=period,  # type: ignore[arg-type]
        start=day(params.get("start")),
        end=day(params.get("end")),
        direction=direction,  # type: ignore[arg-type]
        q=(params.get("q") or "")[:50] or None,
        status=status,  # type: ignore[arg-type]
        currency=currency,
        min_amount=from_typing(params.get("min_amount") or "")[:32] or None,
        max_amount=from_typing(params.get("max_amount") or "")[:32] or None,
    )
    shown = {
        "period": period,
        "direction": direction or "",
        "q": filters.q or "",
        "start": params.get("start", "")[:10],
        "end": params.get("end", "")[:10],
        "status": status or "",
        "currency": currency or "",
        "min_amount": filters.min_amount or "",
        "max_amount": filters.max_amount or "",
    }
    return filters, shown


@router.get("/wallet/history", response_class=HTMLResponse)
async def history_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    params = dict(request.query_params)
    filters, shown = _filters(params)
    problem = None
    rows: list[Any] = []
    next_cursor = None
    try:
        page = await history.list_transactions(
            db_session(request),
            caller.user.id,
            filters,
            cursor=params.get("cursor") or None,
            limit=20,
        )
        rows, next_cursor = page.rows, page.next_cursor
    except DomainError as exc:
        problem = domain_problem(exc, locale_of(request))
    chosen = {k: v for k, v in shown.items() if v}
    more = (
        "/wallet/history?" + urlencode({**chosen, "cursor": next_cursor}) if next_cursor else None
    )
    owned = [b.currency for b in await accounts.balances(db_session(request), caller.user.id)]
    return render(
        request,
        "wallet/history.html",
        {
            "rows": rows,
            "shown": shown,
            "more": more,
            "problem": problem,
            "export_link": "/wallet/history.csv?" + urlencode(chosen),
            "currencies": owned,
            "amount_currency": filters.amount_currency or accounts.DEFAULT_CURRENCY,
            "statuses": _status_choices(),
        },
        status_code=problem.status if problem else 200,
    )


def _status_choices() -> list[tuple[str, str]]:
    """(value, label to translate) for the status filter; the labels are those of the export."""
    return [(value, export.STATUS_LABELS[value]) for value in history.STATUSES]


@router.get("/wallet/history.csv")
async def history_csv(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    filters, _ = _filters(dict(request.query_params))
    document = await export.csv_document(
        db_session(request), caller.user.id, filters, locale_of(request)
    )
    return Response(
        document,
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
