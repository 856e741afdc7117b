"""The dashboard's webhooks (the merchant's owner only): the endpoints (add one, reveal or
rotate its signing secret, enable or disable it) and the delivery log (by status; one delivery
with the body sent and every attempt; send it again). A secret appears only in the answer to
the form that asked for it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao import webhooks
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.web.i18n import gettext
from qianbao.web.routes.merchant_pages_common import (
    DELIVERY_STATUS,
    EVENT_TYPES,
    Desk,
    audited,
    desk,
    page,
    redirect_to,
)
from qianbao.web.templating import locale_of
from qianbao.webhooks.errors import TooManyEndpoints

router = APIRouter(include_in_schema=False, route_class=TxRoute)
NO_STORE = {"Cache-Control": "no-store"}
PAGE = 30


async def _endpoints_page(
    request: Request,
    who: Desk,
    *,
    secret: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    exc: DomainError | None = None,
) -> Response:
    locale = locale_of(request)
    rows = await webhooks.list_endpoints(db_session(request), who.merchant.id)
    return page(
        request,
        who,
        "merchant/webhooks.html",
        "webhooks",
        {
            "endpoints": [
                {
                    "row": row,
                    "reason": gettext(locale, row.disabled_reason) if row.disabled_reason else "",
                }
                for row in rows
            ],
            "event_types": [(t, EVENT_TYPES.get(t, t)) for t in webhooks.EVENT_TYPES],
            "secret": secret,
            "values": values or {"url": "", "description": "", "event_types": []},
        },
        exc=exc,
        headers=NO_STORE,
    )


@router.get("/merchant/webhooks", response_class=HTMLResponse)
async def endpoints(request: Request) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    return await _endpoints_page(request, who)


@router.post("/merchant/webhooks", response_class=HTMLResponse)
async def add_endpoint(request: Request) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    form = await request.form(max_files=0, max_fields=30)
    values: dict[str, Any] = {
        "url": str(form.get("url") or "").strip()[:2000],
        "description": str(form.get("description") or "").strip()[:200],
        "event_types": [str(v) for v in form.getlist("event_types")][:20],
    }
    await form.close()
    s = db_session(request)
    try:
        async with s.begin_nested():
            row, secret = await webhooks.create_endpoint(
                s,
                settings_of(request),
                owner_id=who.merchant.id,
                url=values["url"],
                event_types=values["event_types"],
                description=values["description"] or None,
            )
    except DomainError as exc:
        return await _endpoints_page(request, who, values=values, exc=exc)
    return await _endpoints_page(request, who, secret={"endpoint_id": row.id, "value": secret})


@router.post("/merchant/webhooks/{endpoint_id}/secret", response_class=HTMLResponse)
async def reveal_secret(request: Request, endpoint_id: str) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    value = await webhooks.reveal_secret(
        db_session(request), settings_of(request), who.merchant.id, endpoint_id
    )
    row = await webhooks.get_endpoint(db_session(request), who.merchant.id, endpoint_id)
    await audited(request, who, "merchant.webhook_secret_revealed", endpoint=row.url)
    return await _endpoints_page(request, who, secret={"endpoint_id": row.id, "value": value})


@router.post("/merchant/webhooks/{endpoint_id}/rotate", response_class=HTMLResponse)
async def rotate_secret(request: Request, endpoint_id: str) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    s, settings = db_session(request), settings_of(request)
    value = await webhooks.rotate_secret(
        s,
        settings,
        request.app.state.clock,
        who.merchant.id,
        endpoint_id,
        overlap_hours=settings.merchants.key_rotation_overlap_hours,
    )
    row = await webhooks.get_endpoint(s, who.merchant.id, endpoint_id)
    await audited(request, who, "merchant.webhook_secret_rotated", endpoint=row.url)
    shown = {"endpoint_id": row.id, "value": value, "previous_until": row.previous_expires_at}
    return await _endpoints_page(request, who, secret=shown)


async def _switch(request: Request, endpoint_id: str, enabled: bool) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    try:
        async with s.begin_nested():
            await webhooks.update_endpoint(
                s, settings_of(request), who.merchant.id, endpoint_id, enabled=enabled
            )
    except TooManyEndpoints as exc:
        return await _endpoints_page(request, who, exc=exc)
    return redirect_to("/merchant/webhooks", "endpoint_enabled" if enabled else "endpoint_disabled")


@router.post("/merchant/webhooks/{endpoint_id}/enable", response_class=HTMLResponse)
async def enable(request: Request, endpoint_id: str) -> Response:
    return await _switch(request, endpoint_id, True)


@router.post("/merchant/webhooks/{endpoint_id}/disable", response_class=HTMLResponse)
async def disable(request: Request, endpoint_id: str) -> Response:
    return await _switch(request, endpoint_id, False)


@router.get("/merchant/webhooks/deliveries", response_class=HTMLResponse)
async def deliveries(request: Request) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    q = request.query_params
    status = q.get("status") if q.get("status") in DELIVERY_STATUS else ""
    try:
        before = int(q.get("before") or 0) or None
    except ValueError:
        before = None
    rows = await webhooks.list_deliveries(
        db_session(request),
        who.merchant.id,
        status=status or None,
        limit=PAGE + 1,
        before_id=before,
    )
    older = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        older = f"/merchant/webhooks/deliveries?before={rows[-1].id}" + (
            f"&status={status}" if status else ""
        )
    return page(
        request,
        who,
        "merchant/deliveries.html",
        "webhooks",
        {"rows": rows, "status": status, "older": older, "paged": before is not None},
    )


async def _delivery_page(
    request: Request, who: Desk, delivery_id: str, exc: DomainError | None = None
) -> Response:
    found = await webhooks.delivery_detail(db_session(request), who.merchant.id, delivery_id)
    body = json.dumps(found.payload, indent=2, ensure_ascii=False)
    context = {"found": found, "d": found.delivery, "body": body}
    return page(request, who, "merchant/delivery.html", "webhooks", context, exc=exc)


@router.get("/merchant/webhooks/deliveries/{delivery_id}", response_class=HTMLResponse)
async def delivery(request: Request, delivery_id: str) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    return await _delivery_page(request, who, delivery_id)


@router.post("/merchant/webhooks/deliveries/{delivery_id}/resend", response_class=HTMLResponse)
async def resend(request: Request, delivery_id: str) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    try:
        async with s.begin_nested():
            row = await webhooks.resend(s, request.app.state.clock, who.merchant.id, delivery_id)
    except DomainError as exc:
        return await _delivery_page(request, who, delivery_id, exc)
    return redirect_to(f"/merchant/webhooks/deliveries/{row.id}", "resent")
