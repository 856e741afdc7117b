"""The dashboard's payments: the list (by days and status, a page at a time) and one payment
with its refunds and the form to refund it, fully or in part, from the merchant's balance."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import identity_ctx
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.money import Money
from qianbao.kernel.text import from_typing
from qianbao.merchants import dashboard, refunds
from qianbao.merchants.errors import MerchantBalanceTooLow
from qianbao.merchants.pay import get_payment
from qianbao.web.i18n import gettext
from qianbao.web.routes.account_common import form_values
from qianbao.web.routes.merchant_pages_common import (
    PAYMENT_STATUS,
    Desk,
    desk,
    new_key,
    page,
    redirect_to,
)
from qianbao.web.templating import locale_of

router = APIRouter(include_in_schema=False, route_class=TxRoute)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


@router.get("/merchant/payments", response_class=HTMLResponse)
async def payments(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    q = request.query_params
    status = q.get("status") if q.get("status") in PAYMENT_STATUS else ""
    day_from, day_to = _day(q.get("from")), _day(q.get("to"))
    found = await dashboard.payments_page(
        db_session(request),
        who.merchant.id,
        status=status or None,
        day_from=day_from,
        day_to=day_to,
        after=q.get("after"),
    )
    shown = {
        "status": status or "",
        "from": day_from.isoformat() if day_from else "",
        "to": day_to.isoformat() if day_to else "",
    }
    filters = {k: v for k, v in shown.items() if v}
    older = (
        "/merchant/payments?" + urlencode({**filters, "after": found.next_cursor})
        if found.next_cursor
        else None
    )
    newest = ("/merchant/payments?" + urlencode(filters)) if q.get("after") else None
    return page(
        request,
        who,
        "merchant/payments.html",
        "payments",
        {"rows": found.rows, "shown": shown, "older": older, "newest": newest},
    )


async def _detail(
    request: Request,
    who: Desk,
    payment_id: str,
    *,
    values: dict[str, str] | None = None,
    exc: DomainError | None = None,
) -> Response:
    s, locale = db_session(request), locale_of(request)
    payment = await get_payment(s, payment_id, merchant_id=who.merchant.id)
    done = await refunds.refunds_of(s, payment.id)
    failures = {MerchantBalanceTooLow.code: MerchantBalanceTooLow.message}
    context: dict[str, Any] = {
        "payment": payment,
        "refunds": [
            {
                "row": r,
                "failure": gettext(locale, failures.get(r.failure or "", r.failure or ""))
                if r.failure
                else "",
            }
            for r in done
        ],
        "refundable": payment.amount - payment.refunded,
        "values": values or {"amount": "", "reason": ""},
        "key": new_key(),
    }
    return page(request, who, "merchant/payment.html", "payments", context, exc=exc)


@router.get("/merchant/payments/{payment_id}", response_class=HTMLResponse)
async def payment(request: Request, payment_id: str) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    return await _detail(request, who, payment_id)


@router.post("/merchant/payments/{payment_id}/refunds", response_class=HTMLResponse)
async def refund(request: Request, payment_id: str) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    form = await form_values(request)
    values = {
        "amount": from_typing(form.get("amount", ""))[:32],  # "１０" from an IME: 10
        "reason": form.get("reason", "").strip()[:200],
    }
    s = db_session(request)
    found = await get_payment(s, payment_id, merchant_id=who.merchant.id)  # another's: 404
    try:
        amount = Money.parse(values["amount"], found.currency, allow_zero=False)
        async with s.begin_nested():
            await refunds.refund(
                s,
                identity_ctx(request),
                who.merchant,
                str(found.id),
                amount=amount,
                reason=values["reason"] or None,
                key=form.get("key", "")[:64] or new_key(),
                by=who.caller.user,
            )
    except DomainError as exc:
        return await _detail(request, who, str(found.id), values=values, exc=exc)
    return redirect_to(f"/merchant/payments/{found.id}", "refunded")
