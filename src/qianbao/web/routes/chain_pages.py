"""USDT deposit and withdrawal pages.

/wallet/usdt: choose the network; my address on it with a copy button and a QR code, the warning
that coins sent on another network are lost, and my recent deposits with their confirmations
(a block that refreshes itself); with the development chain, a form that sends test USDT.
/wallet/usdt/withdraw: the network, the address and the amount → the fee and the total, and
the PIN → the withdrawal's page with its hash and confirmations (refreshing until it ends)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.responses import Response

from qianbao.identity.deps import Caller, identity_ctx
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.kernel.text import from_typing
from qianbao.kernel.translations import gettext
from qianbao.rails import chain_factory
from qianbao.rails.chain import NETWORKS
from qianbao.rails.chain_addresses import network_of, shown_txid
from qianbao.wallet import accounts, chain, chain_deposits, chain_withdrawals, limits
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.routes.merchant_pages_qr import scalable
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

NOTICES = {"dev_sent": N_("Test USDT sent. It appears below once it is in a block.")}
ADDRESS_CODES = ("chain.address_invalid", "chain.address_checksum", "chain.address_wrong_network")
AMOUNT_CODES = (
    "chain.withdrawal_below_minimum",
    "ledger.insufficient_funds",
    "risk.limit_exceeded",
)


def _qr(text: str) -> Markup:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return Markup(scalable(out.getvalue().decode("utf-8")))  # noqa: S704 - segno's SVG, no markup from users


def _field_of(code: str) -> str | None:
    if code in ADDRESS_CODES:
        return "address"
    if code in AMOUNT_CODES or code.startswith("money."):
        return "amount"
    if code.startswith("identity.") and "pin" in code:
        return "pin"
    if code == "chain.network_unknown":
        return "network"
    return None


def _chosen(request: Request, value: str | None) -> str:
    offered = list(settings_of(request).chain.networks)
    try:
        return network_of(value or "", offered)
    except DomainError:
        return offered[0] if offered else "TRC20"


async def _usdt_balance(request: Request, caller: Caller) -> Any:
    for b in await accounts.balances(db_session(request), caller.user.id):
        if b.currency == chain.CURRENCY:
            return b
    return None


def _deposit_view(d: Any) -> dict[str, Any]:
    return {
        "d": d,
        "label": NETWORKS[d.network].label,
        "txid": shown_txid(d.network, d.txid),
        "shown": min(d.confirmations, d.needed),
    }


async def _deposit_page(
    request: Request,
    caller: Caller,
    network: str | None,
    *,
    block: str | None = None,
    values: dict[str, str] | None = None,
    exc: DomainError | None = None,
) -> Response:
    s, settings, locale = db_session(request), settings_of(request), locale_of(request)
    code = _chosen(request, network)
    context: dict[str, Any] = {"network": code, "values": values or {"amount": ""}}
    try:
        offers = await chain.offers(s, settings)
    except DomainError as unavailable:
        context["unavailable"] = domain_problem(unavailable, locale).title
        return render(request, "wallet/usdt.html", context, block=block)
    offer = next(o for o in offers if o.code == code)
    address = await chain.deposit_address(s, settings, caller.user.id, code)
    deposits = await chain_deposits.of_user(s, caller.user.id, limit=10)
    problem = domain_problem(exc, locale) if exc else None
    context.update(
        {
            "offers": offers,
            "offer": offer,
            "chain_name": NETWORKS[code].chain,
            "address": address.address,
            "qr": _qr(address.address),
            "deposits": [_deposit_view(d) for d in deposits],
            "waiting": any(d.status == "pending" for d in deposits),
            "balance": await _usdt_balance(request, caller),
            "dev_chain": chain_factory.dev_active(settings),
            "problem": problem,
            "notice": gettext(locale, NOTICES[n])
            if (n := request.query_params.get("notice", "")) in NOTICES
            else None,
        }
    )
    return render(
        request,
        "wallet/usdt.html",
        context,
        block=block,
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/usdt", response_class=HTMLResponse)
async def deposit_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _deposit_page(request, caller, request.query_params.get("network"))


@router.get("/wallet/usdt/deposits", response_class=HTMLResponse)
async def deposits_fragment(request: Request) -> Response:
    """The balance and the recent deposits (the deposit page refreshes them by themselves)."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    network = request.query_params.get("network")
    return await _deposit_page(request, caller, network, block="deposits")


@router.post("/wallet/usdt/dev-send", response_class=HTMLResponse)
async def dev_send(request: Request) -> Response:
    """The development chain's form: test USDT to my address (never in production)."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    network = _chosen(request, form.get("network"))
    values = {"amount": from_typing(form.get("amount", ""))[:32]}
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"].strip(), chain.CURRENCY, allow_zero=False)
        await chain_deposits.send_test_usdt(
            db_session(request), settings_of(request), caller.user.id, network=network,
            amount=amount,
        )  # fmt: skip
    except DomainError as exc:
        return await _deposit_page(request, caller, network, values=values, exc=exc)
    return redirect(f"/wallet/usdt?network={network}", notice="dev_sent", anchor="usdt-deposits")


# -- withdrawal ----------------------------------------------------------------------------------
def _withdraw_values(form: dict[str, str]) -> dict[str, str]:
    return {
        "network": form.get("network", "")[:16],
        "address": form.get("address", "").strip()[:80],
        "amount": from_typing(form.get("amount", ""))[:32].strip(),
        "key": form.get("key", "")[:64],
    }


async def _withdraw_form(
    request: Request, caller: Caller, values: dict[str, str], exc: DomainError | None = None
) -> Response:
    s, settings, locale = db_session(request), settings_of(request), locale_of(request)
    problem = domain_problem(exc, locale) if exc else None
    context: dict[str, Any] = {
        "values": values,
        "problem": problem,
        "field": _field_of(problem.code) if problem else None,
    }
    try:
        context["offers"] = await chain.offers(s, settings)
    except DomainError as unavailable:
        context["unavailable"] = domain_problem(unavailable, locale).title
        return render(request, "wallet/usdt_withdraw.html", context)
    context["network"] = _chosen(request, values.get("network"))
    context["balance"] = await _usdt_balance(request, caller)
    context["limit"], context["decision"] = await limits.allowance(
        s, caller.user, "withdrawal", chain.CURRENCY
    )
    return render(
        request,
        "wallet/usdt_withdraw.html",
        context,
        status_code=problem.status if problem else 200,
    )


@router.get("/wallet/usdt/withdraw", response_class=HTMLResponse)
async def withdraw_form(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    q = request.query_params  # "Change" on the confirmation page brings back what was typed
    values = {k: q.get(k, "")[:80] for k in ("network", "address", "amount")}
    return await _withdraw_form(request, caller, values)


async def _confirm(
    request: Request, caller: Caller, values: dict[str, str], exc: DomainError | None = None
) -> Response:
    amount = Money.parse(values["amount"], chain.CURRENCY, allow_zero=False)
    q = await chain_withdrawals.quote(
        db_session(request), settings_of(request), caller.user, network=values["network"],
        address=values["address"], amount=amount, require_funds=exc is None,
    )  # fmt: skip
    problem = domain_problem(exc, locale_of(request)) if exc else None
    return render(
        request,
        "wallet/usdt_withdraw_confirm.html",
        {
            "q": q,
            "chain_name": q.offer.network.chain,
            "values": {**values, "network": q.offer.code, "address": q.address},
            "key": values.get("key") or uuid.uuid4().hex,
            "problem": problem,
            "field": _field_of(problem.code) if problem else None,
        },
        status_code=problem.status if problem else 200,
    )


@router.post("/wallet/usdt/withdraw/quote", response_class=HTMLResponse)
async def withdraw_quote(request: Request) -> Response:
    """Step 2: the fee and the total before the PIN."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    values = _withdraw_values(await form_values(request))
    try:
        ensure_ready(caller)
        return await _confirm(request, caller, values)
    except DomainError as exc:
        return await _withdraw_form(request, caller, values, exc)


@router.post("/wallet/usdt/withdraw", response_class=HTMLResponse)
async def withdraw_send(request: Request) -> Response:
    """Step 3: the PIN. The key came with the confirmation page (a double click withdraws once)."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = _withdraw_values(form)
    values["key"] = values["key"] or uuid.uuid4().hex
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"], chain.CURRENCY, allow_zero=False)
        done, _ = await chain_withdrawals.request(
            db_session(request), identity_ctx(request), caller.user, network=values["network"],
            address=values["address"], amount=amount, pin=form.get("pin", ""), key=values["key"],
        )  # fmt: skip
    except DomainError as exc:
        if _field_of(exc.code) == "pin":
            try:
                return await _confirm(request, caller, values, exc)
            except DomainError:
                pass
        return await _withdraw_form(request, caller, values, exc)
    return redirect(f"/wallet/usdt/withdrawals/{done.id}")


async def _withdrawal(request: Request, withdrawal_id: str, block: str | None) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    w = await chain_withdrawals.get(db_session(request), caller.user.id, withdrawal_id)
    locale = locale_of(request)
    return render(
        request,
        "wallet/usdt_withdrawal.html",
        {
            "w": w,
            "label": NETWORKS[w.network].label,
            "chain_name": NETWORKS[w.network].chain,
            "txid": shown_txid(w.network, w.txid) if w.txid else None,
            "failure": gettext(locale, w.failure) if w.failure else None,
            "shown": min(w.confirmations, w.needed),
        },
        block=block,
    )


@router.get("/wallet/usdt/withdrawals/{withdrawal_id}", response_class=HTMLResponse)
async def withdrawal_page(request: Request, withdrawal_id: str) -> Response:
    return await _withdrawal(request, withdrawal_id, None)


@router.get("/wallet/usdt/withdrawals/{withdrawal_id}/status", response_class=HTMLResponse)
async def withdrawal_fragment(request: Request, withdrawal_id: str) -> Response:
    return await _withdrawal(request, withdrawal_id, "status")
