"""Cash agents (B5) in the pages.

- The agent's cash point (``/merchant/agent``, a tab of the merchant dashboard for agents): the
  float, how to top it up by bank transfer (the agent's reference), cash in / cash out requests
  by the customer's phone number or payment code, each waiting for the customer's PIN, the day's
  totals and commission.
- The customer (``/wallet/cash``): the requests waiting for an answer; one request, confirmed
  with the PIN or declined.
- Anyone (``/cash-points``): the nearest points, from the browser's location or a typed
  district, with opening hours and a drawn plan (no map service: nothing leaves the machine).
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.banking import accounts as receiving
from qianbao.identity.deps import identity_ctx
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.money import Money
from qianbao.kernel.text import from_typing
from qianbao.merchants import agents as cash_agents
from qianbao.merchants import cash_operations, places
from qianbao.merchants.errors_agents import DistrictUnknown, LocationInvalid, RequestClosed
from qianbao.web import agent_plan
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.routes.merchant_pages_common import Desk, desk, new_key, page, redirect_to
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


# -- the agent -------------------------------------------------------------------------------------
async def _agent_page(
    request: Request,
    who: Desk,
    values: dict[str, str] | None = None,
    exc: DomainError | None = None,
) -> Response:
    s = db_session(request)
    agent = await cash_agents.require_agent(s, who.merchant)
    local = clock_of(s).now().astimezone(LOCAL_TZ)
    since = datetime.combine(local.date(), time.min, tzinfo=LOCAL_TZ)
    return page(
        request,
        who,
        "merchant/agent.html",
        "agent",
        {
            "agent": agent,
            "float": await cash_agents.float_balance(s, agent),
            "accounts": await receiving.active(s, "CNY"),
            "operations": await cash_operations.operations(s, who.merchant.id),
            "totals": await cash_operations.today_totals(s, who.merchant.id, since),
            "values": values or {"kind": "cash_in"},
            "key": new_key(),
            "threshold": cash_agents.threshold(settings_of(request)),
        },
        exc=exc,
        status_code=domain_problem(exc, locale_of(request)).status if exc else None,
    )


@router.get("/merchant/agent", response_class=HTMLResponse)
async def agent_home(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    return await _agent_page(request, who)


@router.post("/merchant/agent/requests", response_class=HTMLResponse)
async def agent_request(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    form = await form_values(request)
    values = {k: form.get(k, "").strip() for k in ("kind", "customer", "amount", "id_checked")}
    values["amount"] = from_typing(values["amount"])
    values["customer"] = from_typing(values["customer"])
    s = db_session(request)
    try:
        async with s.begin_nested():
            amount = Money.parse(values["amount"], cash_agents.CURRENCY, allow_zero=False)
            op = await cash_operations.request(
                s,
                identity_ctx(request),
                who.merchant,
                who.caller.user,
                kind="cash_out" if values["kind"] == "cash_out" else "cash_in",
                customer=values["customer"],
                amount=amount,
                id_checked=bool(values["id_checked"]),
                key=form.get("key", "")[:64] or uuid.uuid4().hex,
            )
    except DomainError as exc:
        return await _agent_page(request, who, values, exc)
    return redirect_to(f"/merchant/agent/requests/{op.id}")


async def _request_page(request: Request, op_id: str, block: str | None = None) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    op = await cash_operations.operation_for_agent(s, who.merchant, op_id)
    now = clock_of(s).now()
    return page(
        request,
        who,
        "merchant/agent_request.html",
        "agent",
        {"op": op, "left": max(0, int((op.expires_at - now).total_seconds()))},
        block=block,
    )


@router.get("/merchant/agent/requests/{op_id}", response_class=HTMLResponse)
async def agent_request_page(request: Request, op_id: str) -> Response:
    return await _request_page(request, op_id)


@router.get("/merchant/agent/requests/{op_id}/status", response_class=HTMLResponse)
async def agent_request_status(request: Request, op_id: str) -> Response:
    return await _request_page(request, op_id, "status")


@router.post("/merchant/agent/requests/{op_id}/cancel", response_class=HTMLResponse)
async def agent_request_cancel(request: Request, op_id: str) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    await form_values(request)
    s = db_session(request)
    try:
        async with s.begin_nested():
            await cash_operations.cancel(s, who.merchant, op_id)
    except RequestClosed:
        pass  # confirmed (or closed) meanwhile: the request's page says how it ended
    return redirect_to(f"/merchant/agent/requests/{op_id}")


# -- the customer ----------------------------------------------------------------------------------
@router.get("/wallet/cash", response_class=HTMLResponse)
async def cash_home(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    return render(
        request,
        "wallet/cash.html",
        {"waiting": await cash_operations.waiting(s, caller.user), "notice": notice_of(request)},
    )


async def _cash_request(
    request: Request, caller: Any, op_id: str, exc: DomainError | None = None
) -> Response:
    s = db_session(request)
    op, agent, merchant = await cash_operations.for_customer(s, caller.user, op_id)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    return render(
        request,
        "wallet/cash_request.html",
        {
            "op": op,
            "agent": agent,
            "merchant": merchant,
            "name": merchant.name(locale_of(request)),
            "problem": problem,
            "notice": notice_of(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/cash/{op_id}", response_class=HTMLResponse)
async def cash_request_page(request: Request, op_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _cash_request(request, caller, op_id)


@router.post("/wallet/cash/{op_id}", response_class=HTMLResponse)
async def cash_request_confirm(request: Request, op_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    s = db_session(request)
    try:
        ensure_ready(caller)
        if form.get("decision") == "decline":
            await cash_operations.decline(s, caller.user, op_id)
            return redirect(f"/wallet/cash/{op_id}")
        await cash_operations.confirm(
            s, identity_ctx(request), caller.user, op_id, form.get("pin", "")
        )
    except DomainError as exc:
        return await _cash_request(request, caller, op_id, exc)
    return redirect(f"/wallet/cash/{op_id}", notice="cash_done")


# -- the finder -----------------------------------------------------------------------------------
@router.get("/cash-points", response_class=HTMLResponse)
async def cash_points(
    request: Request, lat: str = "", lon: str = "", district: str = ""
) -> Response:
    s, locale = db_session(request), locale_of(request)
    origin: tuple[float, float] | None = None
    where = None
    exc: DomainError | None = None
    if lat or lon:
        la, lo = places.parse_coordinate(lat, 90), places.parse_coordinate(lon, 180)
        if la is None or lo is None:
            exc = LocationInvalid()
        else:
            origin = (la, lo)
    elif district.strip():
        found = places.find_district(district[:40])
        if found is None:
            exc = DistrictUnknown()
        else:
            origin, where = (found.lat, found.lon), found
    limit = settings_of(request).merchants.agents.nearest_limit
    points = await cash_agents.nearest(
        s, lat=origin[0] if origin else None, lon=origin[1] if origin else None, limit=limit
    )
    problem = domain_problem(exc, locale) if exc else None
    response = render(
        request,
        "public/cash_points.html",
        {
            "points": points,
            "origin": origin,
            "where": where,
            "district": district[:40],
            "problem": problem,
            "plan": agent_plan.svg(
                origin,
                points,
                locale,
                origin_label=(where.en if locale == "en" else where.zh) if where else None,
            )
            if points
            else "",
            "weekday": clock_of(s).now().astimezone(LOCAL_TZ).weekday(),
        },
        status_code=problem.status if problem else 200,
    )
    # The one page that may ask for the location (the others refuse it: web.middleware).
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=(self)"
    return response
