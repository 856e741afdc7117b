"""Top-up pages (B2, B4).

Pick a way to top up when more than one is offered (a bank card through the card acquirer;
Alipay and WeChat Pay where enabled, each shown with its range and fee), an amount and the PIN →
the provider's page → back to a status page that refreshes itself (HTMX) until the provider's
notification arrives."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from qianbao.identity.deps import Caller, client_ip, identity_ctx
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of, site_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.kernel.text import from_typing
from qianbao.kernel.translations import gettext
from qianbao.rails import factory as rails
from qianbao.rails import sandbox
from qianbao.wallet import limits, tasks, topup, topup_methods
from qianbao.wallet.errors import TopupMethodUnavailable
from qianbao.web.formatting import format_money
from qianbao.web.middleware import SecurityHeadersMiddleware
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.routes.payment_pages import card_choices
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

# Where an outside provider's page is: the top-up form may be sent on there (the answer to the
# POST is a redirect, which the pages' CSP form-action governs).
WECHAT_H5_ORIGIN = "https://wx.tenpay.com"
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def form_csp(settings: Any) -> str:
    """The pages' CSP with the enabled providers' pages allowed as form targets."""
    p = settings.payments
    extra = []
    if p.acquirer == "stripe":
        extra.append(STRIPE_CHECKOUT_ORIGIN)
    if p.alipay.enabled:
        extra.append(_origin(p.alipay.gateway_url))
    if p.wechatpay.enabled:
        extra.append(WECHAT_H5_ORIGIN)
    csp = SecurityHeadersMiddleware.CSP
    if not extra:
        return csp
    return csp.replace("form-action 'self'", "form-action 'self' " + " ".join(extra))


NO_FEE = N_("No fee")
FEE = N_("Fee: {fee}")
FEE_MIN = N_("Fee: {fee}, at least {minimum}")
FEE_MAX = N_("Fee: {fee}, at most {maximum}")
FEE_MIN_MAX = N_("Fee: {fee}, at least {minimum} and at most {maximum}")
RANGE = N_("From {minimum} to {maximum} per top-up")


def fee_text(o: topup_methods.Offer, locale: str) -> str:
    """The fee in words: "No fee", "Fee: 0.6% + ¥1.00, at least ¥1.00", …"""
    f = o.fee
    if f is None or not o.has_fee:
        return gettext(locale, NO_FEE)

    def m(minor: int) -> str:
        return format_money(minor, o.currency, locale)

    parts = []
    if f.percent:
        parts.append(f"{f.percent.normalize():f}%")
    if f.fixed or not parts:
        parts.append(m(f.fixed))
    low = m(f.minimum) if f.minimum > f.fixed else None
    high = m(f.maximum) if f.maximum is not None else None
    msgid = FEE_MIN_MAX if low and high else FEE_MIN if low else FEE_MAX if high else FEE
    return gettext(locale, msgid, fee=" + ".join(parts), minimum=low, maximum=high)


async def method_choices(request: Request) -> list[dict[str, Any]]:
    locale = locale_of(request)
    offered = rails.acquirers_of(request).methods
    found = []
    for o in await topup_methods.offers_in_force(db_session(request), settings_of(request)):
        if o.method not in offered:
            continue
        if o.minimum is not None and o.maximum is not None:
            limits_text = gettext(
                locale,
                RANGE,
                minimum=format_money(o.minimum, o.currency, locale),
                maximum=format_money(o.maximum, o.currency, locale),
            )
        else:
            limits_text = ""
        found.append(
            {
                "method": o.method,
                "label": gettext(locale, o.label),
                "hint": gettext(locale, o.hint),
                "limits": limits_text,
                "fee": fee_text(o, locale),
            }
        )
    return found


async def _topup_form(
    request: Request, caller: Caller, values: dict[str, str], exc: DomainError | None = None
) -> Response:
    problem = domain_problem(exc, locale_of(request)) if exc else None
    limit, decision = await limits.allowance(db_session(request), caller.user, "topup", "CNY")
    cards = await card_choices(request, caller)
    # Without a bound card the card method is not a choice (the page offers to bind one).
    methods = [m for m in await method_choices(request) if cards or m["method"] != "card"]
    chosen = values.get("method") or ""
    if chosen not in [m["method"] for m in methods]:
        chosen = methods[0]["method"] if methods else ""
    return render(
        request,
        "wallet/topup.html",
        {
            "cards": cards,
            "methods": methods,
            "method": chosen,
            "values": values,
            "key": values.get("key") or uuid.uuid4().hex,
            "problem": problem,
            "limit": limit,
            "decision": decision,
        },
        status_code=problem.status if problem else 200,
        headers={"Content-Security-Policy": form_csp(settings_of(request))},
    )


@router.get("/wallet/topup", response_class=HTMLResponse)
async def topup_form(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _topup_form(request, caller, {"amount": "", "card_id": "", "method": ""})


@router.post("/wallet/topup", response_class=HTMLResponse)
async def topup_start(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {
        "amount": from_typing(form.get("amount", ""))[:32],  # "１００" from an IME: 100
        "card_id": form.get("card_id", "")[:64],
        "method": form.get("method", "card")[:16] or "card",
        "key": form.get("key", "")[:64],
    }
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"], "CNY", allow_zero=False)
        acquirer = rails.acquirers_of(request).for_method(values["method"])
        if acquirer is None:
            raise TopupMethodUnavailable()
        started, _ = await topup.start(
            db_session(request),
            identity_ctx(request),
            acquirer,
            caller.user,
            card_id=values["card_id"] or None,
            amount=amount,
            pin=form.get("pin", ""),
            key=values["key"] or uuid.uuid4().hex,
            site=site_of(request),
            method=values["method"],
            client_ip=client_ip(request),
        )
    except DomainError as exc:
        values["key"] = ""  # a new attempt gets a new key
        return await _topup_form(request, caller, values, exc)
    hosted = _hosted_step(started)
    if started.status == "pending" and hosted:
        # The sandbox's page is a path on this site: the browser stays on its own origin. An
        # outside provider's is absolute (the form page's CSP lets the form go there).
        return RedirectResponse(hosted, status_code=303)
    return redirect(f"/wallet/topup/{started.id}")


def _hosted_step(found: Any) -> str | None:
    """Where the user confirms a top-up: the sandbox bank's page as a path on this site (older
    rows stored an absolute URL, of whatever address was configured then), or the outside
    provider's URL."""
    url = found.confirmation_url
    if not url:
        return None
    return sandbox.local_path(url) if found.provider == "sandbox" else str(url)


async def _topup_status(request: Request, topup_id: str, block: str | None) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    found = await topup.get(db_session(request), caller.user.id, topup_id)
    reason = tasks.TOPUP_FAILURES.get(found.failure or "", "")
    return render(
        request,
        "wallet/topup_status.html",
        {
            "topup": found,
            "hosted": _hosted_step(found),
            "reason": gettext(locale_of(request), reason) if reason else "",
        },
        block=block,
    )


@router.get("/wallet/topup/{topup_id}", response_class=HTMLResponse)
async def topup_status(request: Request, topup_id: str) -> Response:
    return await _topup_status(request, topup_id, None)


@router.get("/wallet/topup/{topup_id}/status", response_class=HTMLResponse)
async def topup_status_fragment(request: Request, topup_id: str) -> Response:
    return await _topup_status(request, topup_id, "status")
