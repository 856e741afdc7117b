"""The dashboard's disputes (D4): customers' claims on the shop's payments, with the deadline to
answer, the shop's answer (its evidence: delivery, receipts, messages), and how each ended."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.disputes import merchant_side
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, clock_of_app, db_session
from qianbao.web.routes.account_common import form_values
from qianbao.web.routes.merchant_pages_common import Desk, desk, page, redirect_to

router = APIRouter(include_in_schema=False, route_class=TxRoute)


async def _disputes_page(request: Request, who: Desk, exc: DomainError | None = None) -> Response:
    cases = await merchant_side.of_merchant(db_session(request), who.merchant.id)
    context = {"cases": cases, "now": clock_of_app(request).now()}
    return page(request, who, "merchant/disputes.html", "disputes", context, exc=exc)


@router.get("/merchant/disputes", response_class=HTMLResponse)
async def disputes(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    return await _disputes_page(request, who)


@router.post("/merchant/disputes/{reference}/answer", response_class=HTMLResponse)
async def answer(request: Request, reference: str) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    form = await form_values(request)
    try:
        await merchant_side.answer(
            db_session(request),
            who.merchant.id,
            reference,
            evidence=form.get("evidence", ""),
            by=who.user_id,
        )
    except DomainError as exc:
        return await _disputes_page(request, who, exc)
    return redirect_to("/merchant/disputes", "dispute_answered")
