"""/ops/merchants/money: the operator's merchant money report (F1): what the merchant records say
beside what the ledger holds — merchant accounts, fee revenue, marketing — with a check per line
that they agree to the fen. Supervisors and admins, with two-step verification."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.http import TxRoute, db_session
from qianbao.merchants import reports
from qianbao.web.routes.ops_pages import _operator
from qianbao.web.templating import render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


@router.get("/ops/merchants/money", response_class=HTMLResponse)
async def merchant_money(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    report = await reports.money_report(db_session(request))
    return render(request, "ops/merchant_money.html", {"r": report})
