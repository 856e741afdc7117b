"""/console/promos (B11): the promo codes with their budgets, a form to create one, switch on and
off; every change in the audit log. Supervisors and admins with two-step verification (the same
guard as /ops/wallet)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, clock_of_app, db_session
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import from_typing
from qianbao.merchants import onboarding, promo, review
from qianbao.support.console import audit
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, form_values, redirect
from qianbao.web.routes.console_merchants import _name
from qianbao.web.routes.ops_pages import _operator
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
NOTICES = {
    "promo_created": N_("The promo code is created and switched on."),
    "promo_enabled": N_("The promo code is switched on."),
    "promo_disabled": N_("The promo code is switched off: customers cannot use it."),
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), NOTICES[key]) if key in NOTICES else None


def _decimal_text(basis_points: int) -> str:
    return f"{Decimal(basis_points) / 100:f}"


def _promo_row(p: Any, locale: str, merchants: dict[Any, str]) -> dict[str, Any]:
    return {
        "p": p,
        "percent": _decimal_text(p.value) if p.kind == "percent" else None,
        "per_user": gettext(
            locale, N_("Once per customer") if p.once_per_user else N_("No limit per customer")
        ),
        "merchant": merchants.get(p.merchant_id) if p.merchant_id else None,
        "enabled": p.status == "active",
    }


async def _promos_page(
    request: Request, exc: DomainError | None = None, values: dict[str, str] | None = None
) -> Response:
    s, locale = db_session(request), locale_of(request)
    promos = await promo.list_promos(s)
    merchants: dict[Any, str] = {}
    for p in promos:
        if p.merchant_id and p.merchant_id not in merchants:
            m = await onboarding.get(s, p.merchant_id)
            merchants[p.merchant_id] = f"{_name(m, locale)[0]} ({m.code})"
    now = clock_of_app(request).now().astimezone(LOCAL_TZ).replace(second=0, microsecond=0)
    defaults = {
        "kind": "fixed",
        "currency": "CNY",
        "once_per_user": "1",
        "valid_from": now.strftime("%Y-%m-%dT%H:%M"),
        "valid_until": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
    }
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "console/promos.html",
        {
            "rows": [_promo_row(p, locale, merchants) for p in promos],
            "values": values if values is not None else defaults,
            "problem": problem,
            "notice": _notice(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/promos", response_class=HTMLResponse)
async def promos(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    return await _promos_page(request)


@router.post("/console/promos", response_class=HTMLResponse)
async def promo_create(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    values = await form_values(request)
    for name in ("value", "max_discount", "min_spend", "budget"):  # "１０" from an IME: 10
        values[name] = from_typing(values.get(name, ""))[:32]
    try:
        definition = await review.promo_definition(s, values)
        created = await promo.create(s, definition, by=who.user.id)
        await audit.record(
            s,
            who.user,
            "promo.created",
            obj=("promo", created.id),
            details={"code": created.code, "kind": created.kind, "budget": created.budget},
            ip=client_ip(request),
        )
    except DomainError as exc:
        values.setdefault("once_per_user", "")
        return await _promos_page(request, exc, values)
    return redirect("/console/promos", notice="promo_created")


@router.post("/console/promos/{promo_id}/{action}", response_class=HTMLResponse)
async def promo_switch(request: Request, promo_id: str, action: str) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    if action not in ("enable", "disable"):
        return redirect("/console/promos")
    try:
        p = await promo.set_enabled(s, promo_id, action == "enable")
        await audit.record(
            s,
            who.user,
            f"promo.{action}d",
            obj=("promo", p.id),
            details={"code": p.code},
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _promos_page(request, exc)
    return redirect("/console/promos", notice=f"promo_{action}d")
