"""Withdrawal pages (B10), and the sandbox acquirer's hosted confirmation page (the top-up
pages are in ``topup_pages``).

Withdrawal: pick a card and an amount → the fee, total, arrival date and limits, and an SMS code
→ the code and the PIN → the withdrawal's timeline."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import RedirectResponse, Response

from qianbao.identity.deps import Caller, client_ip, identity_ctx
from qianbao.identity.errors import CodeCooldown, CodeSendLimit
from qianbao.kernel.errors import DomainError, NotFound
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.money import Money
from qianbao.kernel.text import from_typing
from qianbao.kernel.translations import gettext
from qianbao.rails import sandbox
from qianbao.wallet import cards, limits, withdraw
from qianbao.wallet.banks import mask
from qianbao.wallet.models import Withdrawal
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
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


async def card_choices(request: Request, caller: Caller) -> list[dict[str, Any]]:
    locale = locale_of(request)
    return [
        {
            "id": str(c.id),
            "masked": mask(c.last4),
            "bank": gettext(locale, c.bank_name),
            "kind": c.kind,
            "default": c.is_default,
        }
        for c in await cards.list_cards(db_session(request), caller.user.id)
    ]


# -- withdrawal --------------------------------------------------------------------------------
async def _withdraw_form(
    request: Request, caller: Caller, values: dict[str, str], exc: DomainError | None = None
) -> Response:
    problem = domain_problem(exc, locale_of(request)) if exc else None
    limit, decision = await limits.allowance(db_session(request), caller.user, "withdrawal", "CNY")
    fees = await withdraw.fee_schedules(db_session(request), settings_of(request), "CNY")
    return render(
        request,
        "wallet/withdraw.html",
        {
            "cards": await card_choices(request, caller),
            "values": values,
            "problem": problem,
            "limit": limit,
            "decision": decision,
            "fees": fees,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/withdraw", response_class=HTMLResponse)
async def withdraw_form(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _withdraw_form(request, caller, {"amount": "", "card_id": ""})


async def _confirm(
    request: Request,
    caller: Caller,
    values: dict[str, str],
    *,
    code_sent: bool,
    exc: DomainError | None = None,
    way_out: bool = False,
) -> Response:
    s, ctx = db_session(request), identity_ctx(request)
    amount = Money.parse(values["amount"], "CNY", allow_zero=False)
    q = await withdraw.quote(s, ctx, caller.user, card_id=values["card_id"], amount=amount)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    # The code sent earlier (for this amount and card, or another): its count-down to a new one.
    earlier = await code_step(request, destination=caller.user.phone, purpose="withdraw")
    return render(
        request,
        "wallet/withdraw_confirm.html",
        {
            "q": q,
            "bank": gettext(locale_of(request), q.card.bank_name),
            "masked": mask(q.card.last4),
            "values": values,
            "key": values.get("key") or uuid.uuid4().hex,
            "code_sent": code_sent,
            "earlier": earlier if not code_sent else None,
            "resend_in": earlier["resend_in"] if earlier else 0,
            "way_out": way_out,
            "authenticator": caller.user.two_factor_enabled,
            "problem": problem,
        },
        status_code=problem.status if problem else 200,
    )


@router.post("/wallet/withdraw/quote", response_class=HTMLResponse)
async def withdraw_quote(request: Request) -> Response:
    """Step 2: what it costs and when it arrives; the SMS code is sent now."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {
        "amount": from_typing(form.get("amount", ""))[:32],  # "１００" from an IME: 100
        "card_id": form.get("card_id", "")[:64],
        "key": form.get("key", "")[:64],
    }
    s, ctx = db_session(request), identity_ctx(request)
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"], "CNY", allow_zero=False)
        q = await withdraw.quote(
            s, ctx, caller.user, card_id=values["card_id"], amount=amount, require_funds=True
        )
        await withdraw.check_cooling_off(s, ctx, caller.user, q.card)
        await withdraw.request_code(
            s, ctx, caller.user, card_id=values["card_id"], amount=amount, ip=client_ip(request)
        )
    except CodeCooldown:
        # Asked again too soon: the code step, with the earlier code and a count-down.
        return await _confirm(request, caller, values, code_sent=False)
    except CodeSendLimit as exc:
        # No new code this hour: never a dead end (authenticator app, or contact support).
        return await _confirm(request, caller, values, code_sent=False, exc=exc, way_out=True)
    except DomainError as exc:
        return await _withdraw_form(request, caller, values, exc)
    return await _confirm(request, caller, values, code_sent=True)


@router.post("/wallet/withdraw", response_class=HTMLResponse)
async def withdraw_send(request: Request) -> Response:
    """Step 3: the code and the PIN. The key came with the confirm page (a double click or a
    reload withdraws once)."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {
        "amount": from_typing(form.get("amount", ""))[:32],  # "１００" from an IME: 100
        "card_id": form.get("card_id", "")[:64],
        "key": form.get("key", "")[:64] or uuid.uuid4().hex,
    }
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"], "CNY", allow_zero=False)
        done, _ = await withdraw.request(
            db_session(request),
            identity_ctx(request),
            caller.user,
            card_id=values["card_id"],
            amount=amount,
            pin=form.get("pin", ""),
            code=form.get("code", "").strip(),
            key=values["key"],
            authenticator_code=form.get("authenticator_code", "").strip() or None,
            device_id=caller.session.device_id,
        )
    except DomainError as exc:
        try:
            return await _confirm(request, caller, values, code_sent=False, exc=exc)
        except DomainError:
            return await _withdraw_form(request, caller, values, exc)
    return redirect(f"/wallet/withdrawals/{done.id}", notice="withdrawal_requested")


async def timeline_view(request: Request, w: Withdrawal) -> dict[str, Any]:
    s, locale = db_session(request), locale_of(request)
    card = await cards.card_by_id(s, w.card_id)
    steps = await withdraw.timeline(s, w.id)
    return {
        "w": w,
        "masked": mask(card.last4) if card else "",
        "bank": gettext(locale, card.bank_name) if card else "",
        "steps": [
            {
                "status": e.status,
                "note": gettext(locale, e.note) if e.note else "",
                "at": e.created_at,
            }
            for e in steps
        ],
    }


@router.get("/wallet/withdrawals/{withdrawal_id}", response_class=HTMLResponse)
async def withdrawal_page(request: Request, withdrawal_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    w = await withdraw.get(db_session(request), caller.user.id, withdrawal_id)
    return render(
        request,
        "wallet/withdrawal.html",
        {**await timeline_view(request, w), "notice": notice_of(request)},
    )


# -- the sandbox acquirer's hosted page (stands in for the provider's own site) -----------------
def _sandbox_on(request: Request) -> None:
    if settings_of(request).payments.acquirer != "sandbox":
        raise NotFound()


@router.get("/sandbox/pay/{payment_id}", response_class=HTMLResponse)
async def sandbox_page(request: Request, payment_id: str) -> Response:
    _sandbox_on(request)
    payment = await sandbox.get_payment(db_session(request), payment_id)
    return render(
        request,
        "sandbox/pay.html",
        {
            "payment": payment,
            "masked": mask(payment.card_last4),
            "back": sandbox.local_path(payment.return_url),
        },
    )


@router.post("/sandbox/pay/{payment_id}", response_class=HTMLResponse)
async def sandbox_decide(request: Request, payment_id: str) -> Response:
    _sandbox_on(request)
    form = await form_values(request)
    payment = await sandbox.decide(
        db_session(request), payment_id, confirm=form.get("action") == "confirm"
    )
    # Back to our status page on the origin the browser is on (a path; older rows kept an
    # absolute URL: its path only).
    return RedirectResponse(sandbox.local_path(payment.return_url), status_code=303)


@router.post(
    "/api/v1/sandbox/payments/{payment_id}/{action}", include_in_schema=True, tags=["sandbox"]
)
async def sandbox_api_decide(request: Request, payment_id: str, action: str) -> Response:
    """Sandbox test helper: confirm or cancel a payment without the hosted page (API clients)."""
    _sandbox_on(request)
    if action not in ("confirm", "cancel"):
        raise NotFound()
    payment = await sandbox.decide(db_session(request), payment_id, confirm=action == "confirm")
    return JSONResponse({"id": str(payment.id), "status": payment.status})
