"""The wallet pages: home (balances, recent, shortcuts), sending money (form → check the
recipient → confirm with the PIN), history with filters, and one transaction's details."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller, identity_ctx
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.money import Money, MoneyError
from qianbao.notifications import inbox
from qianbao.wallet import accounts, export, history, limits, transfer
from qianbao.wallet.errors import CannotPaySelf, NoteTooLong, RecipientNotFound
from qianbao.web.problems import domain_problem
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
        )
    except (RecipientNotFound, CannotPaySelf, MoneyError) as exc:
        return await _transfer_form(request, caller, values, exc)
    except DomainError as exc:  # a wrong PIN, funds, limits: back to the confirm step
        recipient = await transfer.find_recipient(s, ctx, caller.user, values["to"])
        problem = domain_problem(exc, locale_of(request))
        return render(
            request,
            "wallet/transfer_confirm.html",
            {
                "values": values,
                "recipient": recipient,
                "amount": amount,
                "key": key,
                "problem": problem,
            },
            status_code=problem.status,
        )
    target = f"/wallet/tx/{done.transaction_id}"
    return redirect(target, notice="sent")


def _filters(params: dict[str, str]) -> tuple[history.Filters, dict[str, str]]:
    period = params.get("period", "all")
    if period not in ("all", "yesterday", "7d", "30d", "custom"):
        period = "all"
    direction = params.get("direction") if params.get("direction") in ("in", "out") else None

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
    )
    shown = {
        "period": period,
        "direction": direction or "",
        "q": filters.q or "",
        "start": params.get("start", "")[:10],
        "end": params.get("end", "")[:10],
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
    return render(
        request,
        "wallet/history.html",
        {
            "rows": rows,
            "shown": shown,
            "more": more,
            "problem": problem,
            "export_link": "/wallet/history.csv?" + urlencode(chosen),
        },
    )


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
    row = await history.get_transaction(db_session(request), caller.user.id, transaction_id)
    return render(request, "wallet/transaction.html", {"tx": row, "notice": notice_of(request)})
