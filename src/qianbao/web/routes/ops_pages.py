"""Operator pages for the wallet (staff with the supervisor or admin role, two-step verification
on): the withdrawal review queue (approve, or reject with a reason the customer reads) and the
accounts restricted after very frequent transactions (lift after review)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.accounts import by_id
from qianbao.identity.deps import Caller, identity_ctx
from qianbao.identity.errors import Forbidden
from qianbao.identity.phones import mask_phone
from qianbao.kernel.errors import DomainError, NotFound
from qianbao.kernel.http import TxRoute, db_session
from qianbao.risk import restrictions
from qianbao.wallet import withdrawal_review
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
OPERATOR_ROLES = ("supervisor", "admin")


async def _operator(request: Request) -> Caller | Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    ensure_ready(caller)  # staff without two-step verification are sent to turn it on
    if caller.user.role not in OPERATOR_ROLES:
        raise Forbidden()
    return caller


async def _who(s: Any, user_id: uuid.UUID) -> dict[str, str]:
    user = await by_id(s, user_id)
    return {"name": user.real_name or "—", "phone": mask_phone(user.phone), "id": str(user.id)}


async def _page(request: Request, exc: DomainError | None = None) -> Response:
    s, locale = db_session(request), locale_of(request)
    queue = []
    for w in await withdrawal_review.list_by_status(s, ("in_review",)):
        queue.append({"w": w, "who": await _who(s, w.user_id)})
    in_flight = []
    for w in await withdrawal_review.list_by_status(s, ("approved", "submitted")):
        in_flight.append({"w": w, "who": await _who(s, w.user_id)})
    restricted = []
    for r in await restrictions.list_active(s):
        restricted.append({"r": r, "who": await _who(s, r.user_id)})
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "ops/wallet.html",
        {
            "queue": queue,
            "in_flight": in_flight,
            "restricted": restricted,
            "problem": problem,
            "notice": notice_of(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/ops/wallet", response_class=HTMLResponse)
async def ops_wallet(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    return await _page(request)


@router.post("/ops/withdrawals/{withdrawal_id}/{action}", response_class=HTMLResponse)
async def ops_review(request: Request, withdrawal_id: str, action: str) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    form = await form_values(request)
    s = db_session(request)
    try:
        if action == "approve":
            await withdrawal_review.approve(
                s, identity_ctx(request), withdrawal_id, actor=who.user.id
            )
        elif action == "reject":
            await withdrawal_review.reject(
                s, withdrawal_id, actor=who.user.id, reason=form.get("reason", "")
            )
        else:
            raise NotFound()
    except DomainError as exc:
        return await _page(request, exc)
    return redirect(
        "/ops/wallet",
        notice="withdrawal_approved" if action == "approve" else "withdrawal_rejected",
    )


@router.post("/ops/restrictions/{user_id}/lift", response_class=HTMLResponse)
async def ops_lift(request: Request, user_id: str) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    form = await form_values(request)
    try:
        ident = uuid.UUID(user_id)
    except ValueError:
        raise NotFound() from None
    try:
        await restrictions.lift(
            db_session(request), ident, actor_id=who.user.id, note=form.get("note", "")
        )
    except DomainError as exc:
        return await _page(request, exc)
    return redirect("/ops/wallet", notice="restriction_lifted")
