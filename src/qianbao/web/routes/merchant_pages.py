"""The merchant dashboard (``/merchant``) for a merchant's staff, with two-step verification
on: the overview here; payments and refunds, QR codes and the till, API keys, webhooks and
settlements in the ``merchant_pages_*`` modules, whose routers are included below.

The dashboard's own stylesheet (print layout of the shop's QR included) and its small script
(copy a secret, print) are served from its template folder: the pages' CSP allows only files of
this site, never inline styles or scripts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.http import TxRoute, db_session
from qianbao.merchants import dashboard
from qianbao.merchants.accounts import balance_of
from qianbao.web.routes import (
    merchant_pages_keys,
    merchant_pages_payments,
    merchant_pages_qr,
    merchant_pages_settlements,
    merchant_pages_webhooks,
)
from qianbao.web.routes.merchant_pages_common import desk, page

router = APIRouter(include_in_schema=False, route_class=TxRoute)


@router.get("/merchant", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    merchant = who.merchant
    recent = await dashboard.payments_page(s, merchant.id, limit=5)
    return page(
        request,
        who,
        "merchant/overview.html",
        "overview",
        {
            "balance": await balance_of(s, merchant.id),
            "today": await dashboard.sales_today(s, merchant.id),
            "recent": recent.rows,
        },
    )


router.include_router(merchant_pages_payments.router)
router.include_router(merchant_pages_qr.router)
router.include_router(merchant_pages_keys.router)
router.include_router(merchant_pages_webhooks.router)
router.include_router(merchant_pages_settlements.router)
