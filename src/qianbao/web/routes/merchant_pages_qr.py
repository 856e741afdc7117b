"""The shop's QR codes and its till.

- ``/merchant/qr``: the shop's static QR (the customer types the amount), printable and
  downloadable as PNG and SVG; a form for a dynamic QR of one order (a checkout session with a
  fixed amount), shown big with its status, which refreshes itself until the order is paid.
- ``/merchant/till``: the customer's payment code (typed by the barcode scanner) and the amount:
  paid at once, or waiting for the customer to confirm with the PIN on the phone, or refused."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import identity_ctx
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of, site_of
from qianbao.kernel.money import Money
from qianbao.kernel.text import from_typing
from qianbao.merchants import checkout, payment_codes, qr
from qianbao.merchants.pay import get_payment
from qianbao.web.routes.account_common import form_values
from qianbao.web.routes.merchant_pages_common import Desk, desk, new_key, page, redirect_to

router = APIRouter(include_in_schema=False, route_class=TxRoute)
ORDER_FIELDS = ("amount", "order_reference", "description")
_SIZE = re.compile(r'<svg([^>]*?) width="(\d+)" height="(\d+)"')


def scalable(svg: str) -> str:
    """segno's SVG with a viewBox, so that the page can size it (a phone's width, a printed
    sheet) while every module stays square; the intrinsic size stays as the default."""
    found = _SIZE.search(svg)
    if found is None:
        return svg
    attrs, width, height = found.groups()
    head = f'<svg{attrs} viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
    return svg[: found.start()] + head + svg[found.end() :]


def _shop_url(request: Request, who: Desk) -> str:
    return qr.shop_url(site_of(request), who.merchant.code)


async def _qr_page(
    request: Request,
    who: Desk,
    *,
    values: dict[str, str] | None = None,
    exc: DomainError | None = None,
) -> Response:
    shop = _shop_url(request, who)
    recent = await checkout.list_sessions(
        db_session(request), who.merchant.id, method="qr", limit=10
    )
    now = request.app.state.clock.now()
    return page(
        request,
        who,
        "merchant/qr.html",
        "qr",
        {
            "shop_url": shop,
            "shop_svg": scalable(qr.qr_svg(shop, scale=8)),
            "values": values or dict.fromkeys(ORDER_FIELDS, ""),
            "key": new_key(),
            "recent": [(row, checkout.effective_status(row, now)) for row in recent],
        },
        exc=exc,
    )


@router.get("/merchant/qr", response_class=HTMLResponse)
async def qr_page(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    return await _qr_page(request, who)


def _download(body: bytes | str, media_type: str, name: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/merchant/qr.png")
async def qr_png(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    png = qr.qr_png(_shop_url(request, who), scale=16)
    return _download(png, "image/png", f"qianbao-shop-{who.merchant.code}.png")


@router.get("/merchant/qr.svg")
async def qr_svg(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    svg = '<?xml version="1.0" encoding="UTF-8"?>\n' + qr.qr_svg(_shop_url(request, who), scale=10)
    return _download(svg, "image/svg+xml", f"qianbao-shop-{who.merchant.code}.svg")


@router.post("/merchant/qr/orders", response_class=HTMLResponse)
async def new_order(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    form = await form_values(request)
    values = {name: form.get(name, "").strip() for name in ORDER_FIELDS}
    values["amount"] = from_typing(values["amount"])[:32]
    s = db_session(request)
    try:
        amount = Money.parse(values["amount"], "CNY", allow_zero=False)
        async with s.begin_nested():
            row, _ = await checkout.create_session(
                s,
                settings_of(request),
                who.merchant,
                amount=amount,
                order_ref=values["order_reference"],
                desc=values["description"] or None,
                success_url=None,
                cancel_url=None,
                expires_in_minutes=None,
                key=form.get("key", "")[:64] or new_key(),
                method="qr",
            )
    except DomainError as exc:
        return await _qr_page(request, who, values=values, exc=exc)
    return redirect_to(f"/merchant/qr/orders/{row.id}")


async def _order(request: Request, session_id: str, block: str | None) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    row = await checkout.get_session(db_session(request), session_id, merchant_id=who.merchant.id)
    status = checkout.effective_status(row, request.app.state.clock.now())
    url = qr.checkout_url(site_of(request), row.id)
    context: dict[str, Any] = {
        "order": row,
        "order_status": status,
        "order_svg": scalable(qr.qr_svg(url, scale=8)) if status == "open" else "",
    }
    return page(request, who, "merchant/qr_order.html", "qr", context, block=block)


@router.get("/merchant/qr/orders/{session_id}", response_class=HTMLResponse)
async def order(request: Request, session_id: str) -> Response:
    return await _order(request, session_id, None)


@router.get("/merchant/qr/orders/{session_id}/status", response_class=HTMLResponse)
async def order_status(request: Request, session_id: str) -> Response:
    return await _order(request, session_id, "status")


@router.post("/merchant/qr/orders/{session_id}/cancel", response_class=HTMLResponse)
async def cancel_order(request: Request, session_id: str) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    row = await checkout.cancel_session(db_session(request), who.merchant, session_id)
    return redirect_to(f"/merchant/qr/orders/{row.id}", "order_cancelled")


# -- the till ----------------------------------------------------------------------------------
TILL_FIELDS = ("code", "amount", "order_reference", "description")


async def _till(
    request: Request,
    who: Desk,
    *,
    values: dict[str, str] | None = None,
    exc: DomainError | None = None,
) -> Response:
    context = {"values": values or dict.fromkeys(TILL_FIELDS, ""), "key": new_key()}
    return page(request, who, "merchant/till.html", "till", context, exc=exc)


@router.get("/merchant/till", response_class=HTMLResponse)
async def till(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    return await _till(request, who)


@router.post("/merchant/till", response_class=HTMLResponse)
async def charge(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    form = await form_values(request)
    values = {name: form.get(name, "").strip() for name in TILL_FIELDS}
    values["amount"] = from_typing(values["amount"])[:32]
    values["code"] = "".join(from_typing(values["code"]).split())[:32]  # scanners add spaces
    s = db_session(request)
    try:
        amount = Money.parse(values["amount"], "CNY", allow_zero=False)
        ref = values["order_reference"]
        async with s.begin_nested():
            done = await payment_codes.charge(
                s,
                identity_ctx(request),
                who.merchant,
                code=values["code"],
                amount=amount,
                order_reference=checkout.order_reference(ref) if ref else None,
                description=checkout.description(values["description"]),
                key=form.get("key", "")[:64] or new_key(),
            )
    except DomainError as exc:
        values["code"] = ""  # a code works once: the next try scans a fresh one
        return await _till(request, who, values=values, exc=exc)
    return redirect_to(f"/merchant/till/{done.payment.id}")


async def _till_payment(request: Request, payment_id: str, block: str | None) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    found = await get_payment(db_session(request), payment_id, merchant_id=who.merchant.id)
    return page(request, who, "merchant/till_payment.html", "till", {"payment": found}, block=block)


@router.get("/merchant/till/{payment_id}", response_class=HTMLResponse)
async def till_payment(request: Request, payment_id: str) -> Response:
    return await _till_payment(request, payment_id, None)


@router.get("/merchant/till/{payment_id}/status", response_class=HTMLResponse)
async def till_payment_status(request: Request, payment_id: str) -> Response:
    return await _till_payment(request, payment_id, "status")
