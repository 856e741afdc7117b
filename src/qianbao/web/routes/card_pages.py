"""Bank cards page: the bound cards (masked), binding a new one (SMS code, then number, holder,
PIN and code), making one the default, removing one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import identity_ctx
from qianbao.identity.errors import CodeCooldown, CodeSendLimit
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.translations import gettext
from qianbao.wallet import cards
from qianbao.wallet.banks import mask
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    client_ip,
    code_step,
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


async def _page(
    request: Request,
    caller,
    *,
    exc: DomainError | None = None,
    code_sent: bool = False,
    values: dict[str, str] | None = None,
    way_out: bool = False,
) -> Response:
    locale = locale_of(request)
    # A code sent earlier that still works brings back the form where it is typed (issue 13,
    # defect 7): coming back to the page, or asking again too soon, is never a dead end.
    earlier = await code_step(request, destination=caller.user.phone, purpose="bind_card")
    rows = await cards.list_cards(db_session(request), caller.user.id)
    shown = [
        {
            "id": str(c.id),
            "masked": mask(c.last4),
            "bank": gettext(locale, c.bank_name),
            "kind": c.kind,
            "holder": c.holder_name,
            "default": c.is_default,
        }
        for c in rows
    ]
    return render(
        request,
        "wallet/cards.html",
        {
            "cards": shown,
            "problem": domain_problem(exc, locale) if exc else None,
            "code_sent": code_sent,
            "earlier": None if code_sent else earlier,
            "resend_in": earlier["resend_in"] if earlier else 0,
            "way_out": way_out and earlier is None,
            "values": values or {"holder": caller.user.real_name or ""},
            "notice": notice_of(request),
        },
        status_code=domain_problem(exc, locale).status if exc else 200,
    )


@router.get("/wallet/cards", response_class=HTMLResponse)
async def cards_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _page(request, caller)


@router.post("/wallet/cards/code", response_class=HTMLResponse)
async def cards_code(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    try:
        ensure_ready(caller)
        await cards.request_bind_code(
            db_session(request), identity_ctx(request), caller.user, ip=client_ip(request)
        )
    except CodeCooldown:
        return await _page(request, caller)  # the earlier code's form, with the count-down
    except CodeSendLimit as exc:
        return await _page(request, caller, exc=exc, way_out=True)
    except DomainError as exc:
        return await _page(request, caller, exc=exc)
    return await _page(request, caller, code_sent=True)


@router.post("/wallet/cards", response_class=HTMLResponse)
async def cards_bind(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {"number": form.get("number", "")[:64], "holder": form.get("holder", "")[:100]}
    try:
        ensure_ready(caller)
        await cards.bind(
            db_session(request),
            identity_ctx(request),
            caller.user,
            number=values["number"],
            holder_name=values["holder"],
            pin=form.get("pin", ""),
            code=form.get("code", "").strip(),
        )
    except DomainError as exc:
        return await _page(request, caller, exc=exc, code_sent=True, values=values)
    return redirect("/wallet/cards", notice="card_bound")


@router.post("/wallet/cards/{card_id}/default", response_class=HTMLResponse)
async def cards_default(request: Request, card_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    await cards.make_default(db_session(request), caller.user.id, card_id)
    return redirect("/wallet/cards")


@router.post("/wallet/cards/{card_id}/remove", response_class=HTMLResponse)
async def cards_remove(request: Request, card_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    await cards.remove(db_session(request), identity_ctx(request), caller.user, card_id)
    return redirect("/wallet/cards", notice="card_removed")
