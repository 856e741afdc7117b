"""Several currencies and exchange, for customers (B12): /wallet/currencies (the currencies the
operator offers, open a wallet in one), /wallet/exchange (the rates and the form), a quote with
its countdown and the PIN, and the result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller, identity_ctx
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.money import CURRENCIES, Money
from qianbao.kernel.text import from_typing
from qianbao.moneyconf import rates as fx_rates
from qianbao.wallet import accounts, exchange
from qianbao.wallet.errors import QuoteExpired, QuoteUsed
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


async def _rates(request: Request, offered: list[str]) -> list[dict[str, Any]]:
    s, settings = db_session(request), settings_of(request)
    out = []
    for code in offered:
        if code == fx_rates.BASE:
            continue
        r = await fx_rates.rate(s, settings, code)
        out.append({"code": code, "rate": r})
    return out


@router.get("/wallet/currencies", response_class=HTMLResponse)
async def currencies_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _currencies(request, caller)


async def _currencies(request: Request, caller: Caller, exc: DomainError | None = None) -> Response:
    s = db_session(request)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    held = {b.currency: b for b in await accounts.balances(s, caller.user.id)}
    offered = await exchange.offered(s, settings_of(request))
    return render(
        request,
        "wallet/currencies.html",
        {
            "held": held,
            "offered": offered,
            "closed": [c for c in offered if c not in held],
            "rates": {r["code"]: r["rate"] for r in await _rates(request, offered)},
            "notice": notice_of(request),
            "problem": problem,
        },
        status_code=problem.status if problem else 200,
    )


@router.post("/wallet/currencies", response_class=HTMLResponse)
async def open_currency(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    try:
        ensure_ready(caller)
        await exchange.open_wallet(
            db_session(request), settings_of(request), caller.user, form.get("currency", "")
        )
    except DomainError as exc:
        return await _currencies(request, caller, exc)
    return redirect("/wallet/currencies", notice="wallet_opened")


async def _form(
    request: Request, caller: Caller, values: dict[str, str], exc: DomainError | None = None
) -> Response:
    s = db_session(request)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    held = [b.currency for b in await accounts.balances(s, caller.user.id)]
    offered = await exchange.offered(s, settings_of(request))
    sell = values.get("sell", "")
    if sell not in held:
        sell = held[0]
    buy = values.get("buy", "")
    if buy not in offered or buy == sell:
        buy = next((c for c in offered if c != sell), sell)
    values = {**values, "sell": sell, "buy": buy, "side": values.get("side") or "sell"}
    return render(
        request,
        "wallet/exchange.html",
        {
            "values": values,
            "held": held,
            "offered": offered,
            "rates": await _rates(request, offered),
            "available": await accounts.available(s, caller.user.id, sell),
            "problem": problem,
            "frozen": caller.user.frozen_at is not None,
            "places": {c: CURRENCIES[c].exponent for c in offered},
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/exchange", response_class=HTMLResponse)
async def exchange_form(
    request: Request, sell: str = "", buy: str = "", amount: str = ""
) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    values = {
        "sell": sell[:8].upper(),
        "buy": buy[:8].upper(),
        "amount": amount[:24],
        "side": "sell",
    }
    return await _form(request, caller, values)


@router.post("/wallet/exchange/quote", response_class=HTMLResponse)
async def exchange_quote(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {k: form.get(k, "").strip() for k in ("sell", "buy", "amount", "side")}
    values["amount"] = from_typing(values["amount"])  # "１００" from an IME: 100
    values["sell"], values["buy"] = values["sell"].upper(), values["buy"].upper()
    side = "buy" if values["side"] == "buy" else "sell"
    s = db_session(request)
    try:
        ensure_ready(caller)
        code = values["buy"] if side == "buy" else values["sell"]
        amount = Money.parse(values["amount"], code, allow_zero=False)
        q = await exchange.quote(
            s,
            settings_of(request),
            caller.user,
            sell=values["sell"],
            buy=values["buy"],
            amount=amount,
            side=side,
        )
    except DomainError as exc:
        return await _form(request, caller, values, exc)
    return redirect(f"/wallet/exchange/quotes/{q.id}")


async def _quote_page(
    request: Request, caller: Caller, quote_id: str, exc: DomainError | None = None
) -> Response:
    s = db_session(request)
    q = await exchange.get_quote(s, caller.user, quote_id)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    now = clock_of(s).now()
    return render(
        request,
        "wallet/exchange_quote.html",
        {
            "q": q,
            "left": exchange.seconds_left(q, now) if q.status == "open" else 0,
            "key": f"web-{q.id}",  # a double click or a reload confirms once
            "problem": problem,
            "expired": q.status == "open" and now >= q.expires_at,
            "side_amount": Money(q.sell_amount, q.sell_currency).to_decimal_string(),
            "notice": notice_of(request),
            "rate_shown": lambda q: exchange.rate_shown(q.sell_currency, q.buy_currency, q.rate),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/exchange/quotes/{quote_id}", response_class=HTMLResponse)
async def quote_page(request: Request, quote_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _quote_page(request, caller, quote_id)


@router.post("/wallet/exchange/quotes/{quote_id}", response_class=HTMLResponse)
async def quote_confirm(request: Request, quote_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    s = db_session(request)
    try:
        ensure_ready(caller)
        await exchange.confirm(
            s,
            identity_ctx(request),
            caller.user,
            quote_id=quote_id,
            pin=form.get("pin", ""),
            key=form.get("key", "")[:64] or f"web-{quote_id}",
        )
    except QuoteUsed:  # confirmed from another tab: show what happened
        return redirect(f"/wallet/exchange/quotes/{quote_id}")
    except (QuoteExpired, DomainError) as exc:
        return await _quote_page(request, caller, quote_id, exc)
    return redirect(f"/wallet/exchange/quotes/{quote_id}", notice="exchanged")
