"""The wallet pages: home (balance, actions, first steps, recent transactions) and sending money
(form → check the recipient → confirm with the PIN → the result). The bills (history, one
transaction, statements) are in ``bills_pages``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.disputes import mistaken as dispute_mistaken
from qianbao.identity.deps import Caller, client_ip, identity_ctx
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import CURRENCIES, Money, MoneyError
from qianbao.kernel.text import from_typing
from qianbao.ledger.errors import InsufficientFunds
from qianbao.merchants import cash_operations
from qianbao.notifications import inbox
from qianbao.risk.limits import LimitExceeded
from qianbao.wallet import accounts, cards, exchange, history, limits, transfer
from qianbao.wallet import held as held_transfers
from qianbao.wallet.errors import CannotPaySelf, NoteTooLong, RecipientNotFound
from qianbao.wallet.risk_checks import StepUpRequired
from qianbao.web.problems import domain_problem
from qianbao.web.routes import step_up_view
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


@router.get("/wallet", response_class=HTMLResponse)
async def wallet_home(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    balances = await accounts.balances(s, caller.user.id)
    recent = await history.list_transactions(s, caller.user.id, history.Filters(), limit=5)
    pin_set = caller.user.pin_hash is not None
    return render(
        request,
        "wallet/home.html",
        {
            "balances": balances,
            "recent": recent.rows,
            "notice": notice_of(request),
            "pin_set": pin_set,
            "frozen": caller.user.frozen_at is not None,
            "amounts_hidden": amounts_hidden(request),
            "next_steps": await _next_steps(s, caller, pin_set, bool(recent.rows)),
            "name": caller.user.real_name,
            "unread": await inbox.unread_count(s, caller.user.id),
            "held": await held_transfers.waiting(s, caller.user.id),
            "returns": await dispute_mistaken.asked_of(s, caller.user.id),
            "multi_currency": len(await exchange.offered(s, settings_of(request))) > 1,
            "cash_waiting": await cash_operations.waiting(s, caller.user),
        },
    )


def amounts_hidden(request: Request) -> bool:
    """The customer hid the amounts on this device (the balance card's eye sets the cookie)."""
    return request.cookies.get("qb_hide_amounts") == "1"


# A newcomer's first steps: (title, detail, page).
NEXT_STEPS = (
    (N_("Set your payment PIN"), N_("Six digits that confirm every payment."), "/security/pin"),
    (N_("Add a bank card"), N_("To top up and to withdraw."), "/wallet/cards"),
    (N_("Top up your wallet"), N_("From your card, in a minute."), "/wallet/topup"),
)


async def _next_steps(s: Any, caller: Caller, pin_set: bool, used: bool) -> list[dict[str, Any]]:
    """A newcomer's first steps (PIN, card, top-up), until all three are done."""
    if pin_set and used:
        return []
    has_card = bool(await cards.list_cards(s, caller.user.id))
    done = (pin_set, has_card, used)
    return [
        {"title": title, "sub": sub, "href": href, "done": flag}
        for (title, sub, href), flag in zip(NEXT_STEPS, done, strict=True)
    ]


async def _wallet_currency(request: Request, caller: Caller, asked: str) -> tuple[str, list[str]]:
    """The currency a form sends (one of the user's open wallets; CNY otherwise) and them all."""
    held = [b.currency for b in await accounts.balances(db_session(request), caller.user.id)]
    code = (asked or "").strip().upper()
    return (code if code in held else accounts.DEFAULT_CURRENCY), held


async def _transfer_form(
    request: Request, caller: Caller, values: dict[str, str], exc: DomainError | None = None
) -> Response:
    problem = domain_problem(exc, locale_of(request)) if exc else None
    s = db_session(request)
    code, held = await _wallet_currency(request, caller, values.get("currency", ""))
    values["currency"] = code
    limit, decision = await limits.allowance(s, caller.user, "transfer", code)
    return render(
        request,
        "wallet/transfer.html",
        {
            "values": values,
            "problem": problem,
            "field": _field_of(exc),
            "limit": limit,
            "decision": decision,
            "currency": code,
            "currencies": held,
            "places": CURRENCIES[code].exponent,
            "available": await accounts.available(s, caller.user.id, code),
            "frozen": caller.user.frozen_at is not None,
            "tier": caller.user.kyc_tier,
        },
        status_code=problem.status if problem else 200,
    )


def _field_of(exc: DomainError | None) -> str | None:
    """The form field an error is about (shown under it), or None (shown above the form)."""
    if isinstance(exc, (RecipientNotFound, CannotPaySelf)):
        return "to"
    if isinstance(exc, NoteTooLong):
        return "note"
    if isinstance(exc, (MoneyError, InsufficientFunds, LimitExceeded)):
        return "amount"
    return None


@router.get("/wallet/transfer", response_class=HTMLResponse)
async def transfer_form(request: Request, to: str = "", currency: str = "") -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    values = {"to": to[:32], "amount": "", "note": "", "currency": currency[:8]}
    return await _transfer_form(request, caller, values)


@router.post("/wallet/transfer/check", response_class=HTMLResponse)
async def transfer_check(request: Request) -> Response:
    """Step 2: show who will receive the money (masked) before asking for the PIN."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {k: form.get(k, "").strip() for k in ("to", "amount", "note", "currency")}
    values["amount"] = from_typing(values["amount"])  # "１００" from an IME: 100
    values["currency"], _ = await _wallet_currency(request, caller, values["currency"])
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"], values["currency"], allow_zero=False)
        recipient = await transfer.find_recipient(
            db_session(request), identity_ctx(request), caller.user, values["to"]
        )
        if len(values["note"]) > transfer.MAX_NOTE:
            raise NoteTooLong()
        await transfer.precheck(db_session(request), caller.user, amount)
    except DomainError as exc:
        return await _transfer_form(request, caller, values, exc)
    return render(
        request,
        "wallet/transfer_confirm.html",
        {
            "values": values,
            "recipient": recipient,
            "amount": amount,
            "key": uuid.uuid4().hex,
            "problem": None,
        },
    )


@router.post("/wallet/transfer", response_class=HTMLResponse)
async def transfer_send(request: Request) -> Response:
    """Step 3: the PIN. The idempotency key came with the confirm page: a double click or a
    reload sends the money once."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {k: form.get(k, "").strip() for k in ("to", "amount", "note", "currency")}
    values["amount"] = from_typing(values["amount"])  # "１００" from an IME: 100
    values["currency"], _ = await _wallet_currency(request, caller, values["currency"])
    key = form.get("key", "")[:64] or uuid.uuid4().hex
    s, ctx = db_session(request), identity_ctx(request)
    try:
        ensure_ready(caller)
        amount = Money.parse(values["amount"], values["currency"], allow_zero=False)
        done = await transfer.send(
            s,
            ctx,
            caller.user,
            to=values["to"],
            amount=amount,
            note=values["note"],
            pin=form.get("pin", ""),
            key=key,
            device_id=caller.session.device_id,
            proof=step_up_view.proof_of(form),
        )
    except (RecipientNotFound, CannotPaySelf, MoneyError) as exc:
        return await _transfer_form(request, caller, values, exc)
    except DomainError as exc:  # a wrong PIN, funds, limits: back to the confirm step
        recipient = await transfer.find_recipient(s, ctx, caller.user, values["to"])
        problem: Any = domain_problem(exc, locale_of(request))
        step_up: Any = None
        asked = isinstance(exc, StepUpRequired)
        if asked or step_up_view.kept(form):
            # The rules want one more check: the code and the passkey name the amount and payee.
            async def send_code() -> Any:
                if asked:
                    await transfer.request_step_up_code(
                        s, ctx, caller.user, to=values["to"], amount=amount, ip=client_ip(request)
                    )

            step_up = await step_up_view.ask(
                request,
                caller,
                s,
                send_code,
                options_url="/api/v1/wallet/transfers/step-up-passkey",
                body={"to": values["to"], "amount": values["amount"], "currency": amount.currency},
            )
            if asked:
                problem = None
        return render(
            request,
            "wallet/transfer_confirm.html",
            {
                "values": values,
                "recipient": recipient,
                "amount": amount,
                "key": key,
                "problem": problem,
                "step_up": step_up,
            },
            status_code=problem.status if problem else 200,
        )
    if done.held_id is not None:
        return redirect(f"/wallet/held/{done.held_id}")
    target = f"/wallet/tx/{done.transaction_id}"
    return redirect(target, notice="sent")
