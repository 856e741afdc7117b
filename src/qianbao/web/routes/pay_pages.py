"""The customer's pay pages (B8, B9): a shop's hosted checkout page, a shop's static QR (the
customer types the amount), the Scan page (camera or a picture, decoded in the browser) and
the receipt of a payment. The payment code is in ``pay_code_pages``.

They call the merchant services the JSON API (``/api/v1/pay``) calls; a refusal is shown in the
form, in the user's language, and moves nothing (the payment runs in a savepoint, so the page
can still be drawn after it)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller, identity_ctx
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.money import Money
from qianbao.kernel.text import from_typing
from qianbao.kernel.translations import gettext
from qianbao.merchants import checkout, customer, onboarding, pages_support, promo
from qianbao.merchants.accounts import CURRENCY
from qianbao.merchants.api_customer import return_url
from qianbao.merchants.categories import category_name
from qianbao.merchants.errors import MerchantNotActive, PaymentNotFound
from qianbao.merchants.models import Merchant
from qianbao.merchants.pay import get_payment
from qianbao.wallet import accounts
from qianbao.wallet.risk_checks import StepUpRequired
from qianbao.web.problems import domain_problem
from qianbao.web.routes import step_up_view
from qianbao.web.routes.account_common import (
    client_ip,
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


def _to_login(request: Request, back: str) -> Response:
    """Not signed in: to sign-in, then back to ``back`` (a page; a form's POST has none)."""
    response = login_redirect(request)  # also clears a stale session cookie
    response.headers["location"] = f"/login?next={quote(back, safe='/')}"
    return response


def _shop(request: Request, m: Merchant) -> dict[str, Any]:
    locale = locale_of(request)
    return {
        "code": m.code,
        "name": m.name(locale),
        "category": gettext(locale, category_name(m.category)),
        "verified": m.status == "active",  # reviewed by an operator, then activated
    }


async def _available(request: Request, user_id: uuid.UUID) -> int:
    for b in await accounts.balances(db_session(request), user_id):
        if b.currency == CURRENCY:
            return b.available
    return 0


async def _promo_quote(
    request: Request, code: str, user_id: uuid.UUID, merchant: Merchant, amount: int
) -> tuple[dict[str, Any] | None, Any]:
    """(the discount and what is left to pay, or why the code does not apply)."""
    try:
        found, discount = await promo.check(
            db_session(request), code, user_id=user_id, merchant_id=merchant.id,
            amount=amount, currency=CURRENCY,
        )  # fmt: skip
    except DomainError as exc:
        return None, domain_problem(exc, locale_of(request))
    return {"code": found.code, "discount": discount, "to_pay": amount - discount}, None


async def _ask_step_up(
    request: Request, caller: Caller, exc: DomainError, merchant: Merchant, price: Money
) -> dict[str, Any]:
    """The risk rules want this payment confirmed: send the SMS code naming the price and the
    shop (once: a wrong code keeps the fields without a new SMS), offer the passkey."""
    s = db_session(request)

    async def send_code() -> None:
        if isinstance(exc, StepUpRequired):
            await customer.send_step_up_code(
                s, identity_ctx(request), caller.user, merchant, amount=price,
                ip=client_ip(request),
            )  # fmt: skip

    return await step_up_view.ask(
        request, caller, s, send_code, options_url="/api/v1/pay/step-up-passkey",
        body={"shop": merchant.code, "amount": price.to_decimal_string(),
              "currency": price.currency},
    )  # fmt: skip


# -- the hosted checkout page (B9; also behind a dynamic QR) ----------------------------------
async def _checkout(
    request: Request,
    user_id: uuid.UUID,
    session_id: str,
    values: dict[str, str],
    exc: DomainError | None = None,
    step_up: dict[str, Any] | None = None,
) -> Response:
    s, locale = db_session(request), locale_of(request)
    row = await checkout.get_session(s, session_id)
    merchant = await onboarding.get(s, row.merchant_id)
    status = checkout.effective_status(row, clock_of(s).now())
    mine = None
    if row.payment_id is not None:
        try:
            mine = await get_payment(s, row.payment_id, customer_id=user_id)
        except PaymentNotFound:
            mine = None  # paid by someone else: "already paid", no receipt
    why = pages_support.why_not_payable(row, merchant, clock_of(s).now())
    closed = domain_problem(why, locale) if why else None
    problem = domain_problem(exc, locale) if exc and not isinstance(exc, StepUpRequired) else None
    quote_, promo_problem = None, None
    if closed is None and values.get("promo_code"):
        quote_, promo_problem = await _promo_quote(
            request, values["promo_code"], user_id, merchant, row.amount
        )
    back = return_url(row)
    just_paid = mine is not None and request.query_params.get("paid") == "1"
    return render(
        request,
        "pay/checkout.html",
        {
            "row": row,
            "shop": _shop(request, merchant),
            "status": status,
            "closed": closed,
            "mine": mine,
            "just_paid": just_paid,
            "back": back,
            "values": values,
            "problem": problem,
            "quote": quote_,
            "promo_problem": promo_problem,
            "available": await _available(request, user_id),
            "step_up": step_up,
        },
        status_code=problem.status if problem else (promo_problem.status if promo_problem else 200),
    )


@router.get("/pay/checkout/{session_id}", response_class=HTMLResponse)
async def checkout_page(request: Request, session_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _checkout(request, caller.user.id, session_id, {})


@router.post("/pay/checkout/{session_id}", response_class=HTMLResponse)
async def checkout_pay(request: Request, session_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return _to_login(request, request.url.path)
    form = await form_values(request)
    values = {"promo_code": form.get("promo_code", "").strip()[:40]}
    user_id = caller.user.id
    if form.get("action") == "promo":  # only show what the code takes off
        return await _checkout(request, user_id, session_id, values)
    s = db_session(request)
    try:
        ensure_ready(caller)
        async with s.begin_nested():
            done, row = await customer.pay_checkout(
                s, identity_ctx(request), caller.user, session_id,
                pin=form.get("pin", ""), promo_code=values["promo_code"] or None,
                device_id=caller.session.device_id, proof=step_up_view.proof_of(form),
            )  # fmt: skip
    except DomainError as exc:
        step_up = None
        if isinstance(exc, StepUpRequired) or step_up_view.kept(form):
            found = await checkout.get_session(s, session_id)
            step_up = await _ask_step_up(
                request, caller, exc, await onboarding.get(s, found.merchant_id),
                Money(found.amount, found.currency),
            )  # fmt: skip
        return await _checkout(request, user_id, session_id, values, exc, step_up)
    return redirect(f"/pay/checkout/{row.id}" + ("" if done.replayed else "?paid=1"))


# -- a shop's static QR: the customer types the amount (B8) ------------------------------------
async def _shop_page(
    request: Request,
    user_id: uuid.UUID,
    code: str,
    values: dict[str, str],
    exc: DomainError | None = None,
    check_promo: bool = False,
    step_up: dict[str, Any] | None = None,
) -> Response:
    locale = locale_of(request)
    merchant = await onboarding.by_code(db_session(request), code)
    problem = domain_problem(exc, locale) if exc and not isinstance(exc, StepUpRequired) else None
    closed = None if merchant.status == "active" else domain_problem(MerchantNotActive(), locale)
    quote_, promo_problem = None, None
    if check_promo and closed is None and problem is None and values.get("promo_code"):
        try:
            amount = Money.parse(values["amount"], CURRENCY, allow_zero=False)
        except DomainError as bad:
            problem = domain_problem(bad, locale)
        else:
            quote_, promo_problem = await _promo_quote(
                request, values["promo_code"], user_id, merchant, amount.minor
            )
    status = problem or promo_problem
    return render(
        request,
        "pay/shop.html",
        {
            "shop": _shop(request, merchant),
            "closed": closed,
            "values": values,
            "problem": problem,
            "quote": quote_,
            "promo_problem": promo_problem,
            "available": await _available(request, user_id),
            "currency": CURRENCY,
            "step_up": step_up,
        },
        status_code=status.status if status else 200,
    )


@router.get("/pay/m/{code}", response_class=HTMLResponse)
async def shop_page(request: Request, code: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    values = {"amount": "", "note": "", "promo_code": "", "key": uuid.uuid4().hex}
    return await _shop_page(request, caller.user.id, code, values)


@router.post("/pay/m/{code}", response_class=HTMLResponse)
async def shop_pay(request: Request, code: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return _to_login(request, request.url.path)
    form = await form_values(request)
    values = {
        "amount": from_typing(form.get("amount", ""))[:32],  # "１００" from an IME: 100
        "note": form.get("note", "").strip()[:200],
        "promo_code": form.get("promo_code", "").strip()[:40],
        "key": form.get("key", "")[:64] or uuid.uuid4().hex,
    }
    user_id = caller.user.id
    if form.get("action") == "promo":
        return await _shop_page(request, user_id, code, values, check_promo=True)
    s = db_session(request)
    merchant: Merchant | None = None
    amount: Money | None = None
    try:
        ensure_ready(caller)
        merchant = await onboarding.by_code(s, code)
        amount = Money.parse(values["amount"], CURRENCY, allow_zero=False)
        async with s.begin_nested():
            done = await customer.pay_shop(
                s, identity_ctx(request), caller.user, merchant, amount=amount,
                note=values["note"] or None, pin=form.get("pin", ""), key=values["key"],
                promo_code=values["promo_code"] or None, device_id=caller.session.device_id,
                proof=step_up_view.proof_of(form),
            )  # fmt: skip
    except DomainError as exc:
        step_up = None
        if merchant and amount and (isinstance(exc, StepUpRequired) or step_up_view.kept(form)):
            step_up = await _ask_step_up(request, caller, exc, merchant, amount)
        return await _shop_page(request, user_id, code, values, exc, True, step_up)
    return redirect(f"/pay/payments/{done.payment.id}?done=1")


# -- the receipt -------------------------------------------------------------------------------
@router.get("/pay/payments/{payment_id}", response_class=HTMLResponse)
async def receipt_page(request: Request, payment_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    payment = await get_payment(s, payment_id, customer_id=caller.user.id)
    merchant = await onboarding.get(s, payment.merchant_id)
    return render(
        request,
        "pay/receipt.html",
        {
            "p": payment,
            "shop": _shop(request, merchant),
            "done": request.query_params.get("done") == "1",
        },
    )


# -- Scan -------------------------------------------------------------------------------------
@router.get("/scan", response_class=HTMLResponse)
async def scan_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return render(request, "pay/scan.html")
