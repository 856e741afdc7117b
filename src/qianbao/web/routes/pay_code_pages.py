"""The customer's payment code page (B8, customer-presented): the code as a barcode and a QR
(refreshed before it expires), the till charges waiting for the PIN (confirm or decline), and
the limit without PIN (changed with the PIN). A refusal is shown in the user's language and
moves nothing (each action runs in a savepoint, so the page can still be drawn after it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller, identity_ctx
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.money import Money
from qianbao.merchants import onboarding, pages_support, payment_codes
from qianbao.merchants.accounts import CURRENCY
from qianbao.merchants.pay import get_payment
from qianbao.wallet.risk_checks import StepUpRequired
from qianbao.web.problems import domain_problem
from qianbao.web.routes import step_up_view
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.routes.pay_pages import _ask_step_up, _shop, _to_login
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


async def _code_block(request: Request, caller: Caller) -> dict[str, Any]:
    s, ctx = db_session(request), identity_ctx(request)
    seconds = settings_of(request).merchants.payment_code_seconds
    try:
        issued = await payment_codes.issue(s, ctx, caller.user)
    except DomainError as exc:
        return {"code": None, "code_problem": domain_problem(exc, locale_of(request))}
    return {
        "code": issued.code,
        **pages_support.code_pictures(issued.code),
        "expires_at": issued.expires_at,
        "refresh_s": max(5, seconds - 5),  # a new code shortly before this one expires
    }


async def _awaiting_block(request: Request, caller: Caller, since: datetime) -> dict[str, Any]:
    s = db_session(request)
    rows = []
    for p in await payment_codes.awaiting(s, caller.user):
        rows.append({"p": p, "shop": _shop(request, await onboarding.get(s, p.merchant_id))})
    paid = None
    if not rows:
        found = await pages_support.latest_code_payment(s, caller.user.id, since)
        if found is not None:
            paid = {"p": found, "shop": _shop(request, await onboarding.get(s, found.merchant_id))}
    return {"awaiting": rows, "paid": paid, "since": int(since.timestamp())}


def _since(request: Request) -> datetime:
    raw = request.query_params.get("since", "")
    now = clock_of(db_session(request)).now()
    try:
        value = datetime.fromtimestamp(int(raw[:12]), UTC)
    except ValueError:
        return now
    return min(value, now)


async def _code_page(
    request: Request,
    caller: Caller,
    exc: DomainError | None = None,
    failed: str | None = None,
    step_up: dict[str, Any] | None = None,
) -> Response:
    s, ctx = db_session(request), identity_ctx(request)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    if isinstance(exc, StepUpRequired):
        problem = None  # the step-up box says it
    limit = await payment_codes.no_pin_limit(s, ctx, caller.user.id)
    now = clock_of(s).now()
    return render(
        request,
        "pay/code.html",
        {
            **await _code_block(request, caller),
            **await _awaiting_block(request, caller, now),
            "no_pin_limit": limit,
            "no_pin_limit_text": Money(limit, CURRENCY).to_decimal_string(),
            "currency": CURRENCY,
            "problem": problem,
            "failed": failed,
            "declined": request.query_params.get("declined") == "1",
            "saved": request.query_params.get("saved") == "1",
            "step_up": step_up,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/pay/code", response_class=HTMLResponse)
async def code_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _code_page(request, caller)


def _fragment_login() -> Response:
    """An HTMX poll of a signed-out page: the whole page goes to sign-in."""
    return Response(status_code=204, headers={"HX-Redirect": "/login?next=/pay/code"})


@router.get("/pay/code/fresh", response_class=HTMLResponse)
async def code_fresh(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return _fragment_login()
    return render(request, "pay/code.html", await _code_block(request, caller), block="code")


@router.get("/pay/code/awaiting", response_class=HTMLResponse)
async def code_awaiting(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return _fragment_login()
    block = await _awaiting_block(request, caller, _since(request))
    return render(request, "pay/code.html", block, block="awaiting")


@router.post("/pay/code/payments/{payment_id}/confirm", response_class=HTMLResponse)
async def code_confirm(request: Request, payment_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return _to_login(request, "/pay/code")
    form = await form_values(request)
    s = db_session(request)
    try:
        ensure_ready(caller)
        async with s.begin_nested():
            done = await payment_codes.confirm(
                s, identity_ctx(request), caller.user, payment_id, pin=form.get("pin", ""),
                device_id=caller.session.device_id, proof=step_up_view.proof_of(form),
            )  # fmt: skip
    except DomainError as exc:
        step_up = None
        if isinstance(exc, StepUpRequired) or step_up_view.kept(form):
            payment = await get_payment(s, payment_id, customer_id=caller.user.id)
            merchant = await onboarding.get(s, payment.merchant_id)
            step_up = await _ask_step_up(
                request, caller, exc, merchant, Money(payment.amount, payment.currency)
            )
        return await _code_page(request, caller, exc, failed=payment_id, step_up=step_up)
    return redirect(f"/pay/payments/{done.payment.id}?done=1")


@router.post("/pay/code/payments/{payment_id}/decline", response_class=HTMLResponse)
async def code_decline(request: Request, payment_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return _to_login(request, "/pay/code")
    s = db_session(request)
    try:
        async with s.begin_nested():
            await payment_codes.decline(s, caller.user, payment_id)
    except DomainError as exc:
        return await _code_page(request, caller, exc, failed=payment_id)
    return redirect("/pay/code?declined=1")


@router.post("/pay/code/settings", response_class=HTMLResponse)
async def code_settings(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return _to_login(request, "/pay/code")
    form = await form_values(request)
    s = db_session(request)
    try:
        ensure_ready(caller)
        limit = Money.parse(form.get("no_pin_limit", "").strip()[:32], CURRENCY)
        async with s.begin_nested():
            await payment_codes.set_no_pin_limit(
                s, identity_ctx(request), caller.user, limit, pin=form.get("pin", "")
            )
    except DomainError as exc:
        return await _code_page(request, caller, exc, failed="settings")
    return redirect("/pay/code?saved=1", anchor="no-pin")
