"""The customer's claim pages (D4): report a transaction they did not make (from its details
page), follow the case, appeal a rejection once."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.disputes import claims, files, mistaken
from qianbao.identity.accounts import by_id
from qianbao.identity.deps import client_ip, identity_ctx
from qianbao.identity.phones import mask_name, mask_phone
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.text import from_typing
from qianbao.wallet import history
from qianbao.wallet.recipients import payee_label
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    form_values,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.routes.ticket_pages import posted
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
FIELDS = ("what_happened", "shared", "noticed_at", "amount", "freeze", "source")
SOURCES = ("transaction", "help", "chat")


def _noticed(value: str) -> datetime | None:
    """The page's datetime-local field, in China time; empty or unreadable: not given."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=LOCAL_TZ) if value else None
    except ValueError:
        return None


async def _tx_form(
    request: Request,
    transaction_id: str,
    template: str,
    context: dict[str, Any],
    exc: DomainError | None = None,
) -> Response:
    """A form about one of the caller's transactions (a claim, a mistaken transfer), with the
    service's refusal in the caller's language."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    tx = await history.get_transaction(db_session(request), caller.user.id, transaction_id)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    return render(
        request,
        template,
        {"tx": tx, "problem": problem, **context},
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/tx/{transaction_id}/claim", response_class=HTMLResponse)
async def claim_form(request: Request, transaction_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    existing = None
    with contextlib.suppress(ValueError):
        existing = await claims.of_transaction(
            db_session(request), caller.user.id, uuid.UUID(transaction_id)
        )
    if existing is not None:
        return redirect(f"/wallet/cases/{existing.id}")
    source = request.query_params.get("from", "")
    values = {"shared": "nothing", "freeze": "1", "source": source if source in SOURCES else ""}
    return await _tx_form(request, transaction_id, "wallet/claim.html", {"values": values})


@router.get("/wallet/claims/new", response_class=HTMLResponse)
async def claim_pick(request: Request) -> Response:
    """The help center's and the chat's way in: which transaction was not you?"""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    source = request.query_params.get("from", "")
    s = db_session(request)
    return render(
        request,
        "wallet/claim_pick.html",
        {
            "rows": await claims.claimable(s, request.app.state.settings, caller.user.id),
            "source": source if source in SOURCES else "",
            "days": request.app.state.settings.disputes.claim_window_days,
        },
    )


@router.post("/wallet/tx/{transaction_id}/claim", response_class=HTMLResponse)
async def claim_send(request: Request, transaction_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form, uploads = await posted(request)
    values = {k: form.get(k, "").strip() for k in FIELDS}
    values["amount"] = from_typing(values["amount"])  # "１００" from an IME: 100
    source = values.get("source", "")
    try:
        case = await claims.open_claim(
            db_session(request),
            identity_ctx(request),
            caller.user,
            transaction_id=transaction_id,
            what_happened=values["what_happened"],
            shared=values["shared"],
            noticed_at=_noticed(values["noticed_at"]),
            claimed=values["amount"] or None,
            freeze_account=values["freeze"] == "1",
            source=source if source in SOURCES else "transaction",
            ip=client_ip(request),
            screenshots=files.check(uploads),
        )
    except DomainError as exc:
        return await _tx_form(request, transaction_id, "wallet/claim.html", {"values": values}, exc)
    return redirect(f"/wallet/cases/{case.id}", notice="claim_opened")


async def _case_page(
    request: Request, case_id: str, exc: DomainError | None = None, note: str = ""
) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    case = await claims.get_own(s, caller.user.id, case_id)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    return render(
        request,
        "wallet/case.html",
        {
            "case": case,
            "events": await claims.timeline(s, case, public_only=True),
            "files": await files.of_case(s, case.id),
            "problem": problem,
            "notice": notice_of(request),
            "note": note,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/cases", response_class=HTMLResponse)
async def cases(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return render(
        request,
        "wallet/cases.html",
        {"cases": await claims.of_user(db_session(request), caller.user.id)},
    )


@router.get("/wallet/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: str) -> Response:
    return await _case_page(request, case_id)


@router.post("/wallet/cases/{case_id}/appeal", response_class=HTMLResponse)
async def case_appeal(request: Request, case_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    note = form.get("note", "")
    try:
        await claims.appeal(
            db_session(request), identity_ctx(request), caller.user, case_id, note=note
        )
    except DomainError as exc:
        return await _case_page(request, case_id, exc, note)
    return redirect(f"/wallet/cases/{case_id}", notice="claim_appealed")


@router.post("/wallet/cases/{case_id}/files", response_class=HTMLResponse)
async def case_files(request: Request, case_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    _, uploads = await posted(request)
    try:
        await claims.add_screenshots(db_session(request), caller.user, case_id, uploads)
    except DomainError as exc:
        return await _case_page(request, case_id, exc)
    return redirect(f"/wallet/cases/{case_id}", notice="screenshots_added")


# -- mistaken transfers ---------------------------------------------------------------------------
@router.get("/wallet/tx/{transaction_id}/mistaken", response_class=HTMLResponse)
async def mistaken_form(request: Request, transaction_id: str) -> Response:
    return await _tx_form(request, transaction_id, "wallet/mistaken.html", {"note": ""})


@router.post("/wallet/tx/{transaction_id}/mistaken", response_class=HTMLResponse)
async def mistaken_send(request: Request, transaction_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    note = form.get("note", "").strip()
    try:
        case = await mistaken.ask_back(
            db_session(request),
            identity_ctx(request),
            caller.user,
            transaction_id=transaction_id,
            note=note,
        )
    except DomainError as exc:
        return await _tx_form(request, transaction_id, "wallet/mistaken.html", {"note": note}, exc)
    return redirect(f"/wallet/cases/{case.id}", notice="return_asked")


async def _masked(s: Any, user_id: uuid.UUID) -> str:
    user = await by_id(s, user_id)
    return payee_label(mask_name(user.real_name), mask_phone(user.phone))


async def _return_page(request: Request, case_id: str, exc: DomainError | None = None) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    case = await mistaken.for_recipient(db_session(request), caller.user.id, case_id)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    return render(
        request,
        "wallet/return.html",
        {
            "case": case,
            "words": gettext(locale_of(request), case.what_happened),  # a msgid, or theirs
            "sender": await _masked(db_session(request), case.user_id),
            "problem": problem,
            "notice": notice_of(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/returns/{case_id}", response_class=HTMLResponse)
async def return_page(request: Request, case_id: str) -> Response:
    return await _return_page(request, case_id)


@router.post("/wallet/returns/{case_id}/{answer}", response_class=HTMLResponse)
async def return_answer(request: Request, case_id: str, answer: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    s, ctx = db_session(request), identity_ctx(request)
    try:
        if answer == "send-back":
            await mistaken.give_back(s, ctx, caller.user, case_id, pin=form.get("pin", ""))
        elif answer == "decline":
            await mistaken.decline(s, ctx, caller.user, case_id, reason=form.get("reason", ""))
        else:
            return redirect(f"/wallet/returns/{case_id}")
    except DomainError as exc:
        return await _return_page(request, case_id, exc)
    notice = "returned" if answer == "send-back" else "return_declined"
    return redirect(f"/wallet/returns/{case_id}", notice=notice)
