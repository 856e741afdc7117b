"""The "是您本人操作吗? / Was this you?" page of a held transfer (D2): what was held, until when,
and the two answers — Yes with the code from the SMS, No at once."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import client_ip, identity_ctx
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.wallet import held as held_transfers
from qianbao.wallet import held_answers
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    form_values,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


async def _page(request: Request, held_id: uuid.UUID, exc: DomainError | None = None) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    held = await held_transfers.get(s, caller.user.id, held_id)  # not theirs: 404 page
    problem = domain_problem(exc, locale_of(request)) if exc else None
    now = clock_of(s).now()
    return render(
        request,
        "wallet/held.html",
        {
            "held": held,
            "payee": await held_transfers.payee_of(s, held),
            "answerable": held_transfers.is_answerable(held, now),
            "problem": problem,
            "notice": notice_of(request),
            "phone": caller.user.phone[-4:],
            "status_words": held_transfers.STATUS_WORDS,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/held/{held_id}", response_class=HTMLResponse)
async def held_page(request: Request, held_id: uuid.UUID) -> Response:
    return await _page(request, held_id)


@router.post("/wallet/held/{held_id}/yes", response_class=HTMLResponse)
async def held_yes(request: Request, held_id: uuid.UUID) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    try:
        await held_answers.confirm(
            db_session(request),
            identity_ctx(request),
            caller.user,
            held_id,
            code=form.get("code", "").strip(),
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _page(request, held_id, exc)
    return redirect(f"/wallet/held/{held_id}", notice="held_confirmed")


@router.post("/wallet/held/{held_id}/no", response_class=HTMLResponse)
async def held_no(request: Request, held_id: uuid.UUID) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    await form_values(request)  # the CSRF check
    try:
        await held_answers.deny(
            db_session(request), identity_ctx(request), caller.user, held_id, ip=client_ip(request)
        )
    except DomainError as exc:
        return await _page(request, held_id, exc)
    return redirect(f"/wallet/held/{held_id}", notice="held_denied")


@router.post("/wallet/held/{held_id}/code", response_class=HTMLResponse)
async def held_code(request: Request, held_id: uuid.UUID) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    await form_values(request)
    s = db_session(request)
    try:
        held = await held_transfers.get(s, caller.user.id, held_id)
        await held_transfers.resend(
            s, identity_ctx(request), caller.user, held, ip=client_ip(request)
        )
    except DomainError as exc:
        return await _page(request, held_id, exc)
    return redirect(f"/wallet/held/{held_id}", notice="code_sent")
