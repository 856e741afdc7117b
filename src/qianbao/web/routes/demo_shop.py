"""A small demo shop (served by `make run` beside the wallet) that sells coffee with the demo
customer's wallet, as any outside shop would: it calls only the public merchant API over HTTP
with its API key and verifies the webhooks it receives with the ``standardwebhooks`` package.
It imports no Qianbao domain (an import-linter contract checks it); its key and webhook secret
come from ``var/demo-shop.json``, written by the demo data."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.responses import Response

from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.web.templating import render

router = APIRouter(include_in_schema=False)
MENU = {
    "latte": (N_("Latte"), "28.00"),
    "americano": (N_("Americano"), "22.00"),
    "mocha": (N_("Mocha"), "32.00"),
}
CONFIG_FILE = "demo-shop.json"
EVENTS_FILE = "demo-shop-events.jsonl"


def _config(request: Request) -> dict[str, str] | None:
    path = Path(request.app.state.settings.var_dir) / CONFIG_FILE
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _events_path(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir) / EVENTS_FILE


def _events(request: Request) -> list[dict[str, Any]]:
    try:
        lines = _events_path(request).read_text().splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines[-200:] if line.strip()]


def _origin(request: Request) -> str:
    """The address the visitor used (http://localhost:8000): where the visitor goes back to."""
    return str(request.base_url).rstrip("/")


def _wallet(request: Request) -> str:
    """Where the shop calls the wallet's API with its key: this deployment's own address from
    the settings, never the request's Host header (a forged one would receive the key)."""
    return str(request.app.state.settings.http.base_url).rstrip("/")


async def _api(request: Request, method: str, path: str, **kwargs: Any) -> httpx.Response:
    config = _config(request)
    assert config is not None
    async with httpx.AsyncClient(base_url=_wallet(request), timeout=10) as client:
        return await client.request(
            method,
            path,
            headers={"Authorization": f"Bearer {config['api_key']}", **kwargs.pop("headers", {})},
            **kwargs,
        )


@router.get("/demo-shop", response_class=HTMLResponse)
async def shop(request: Request) -> Response:
    menu = [(key, name, Money.parse(price, "CNY").minor) for key, (name, price) in MENU.items()]
    return render(
        request, "demo_shop/shop.html", {"menu": menu, "ready": _config(request) is not None}
    )


@router.post("/demo-shop/buy")
async def buy(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    item = str(form.get("item", ""))
    if item not in MENU or _config(request) is None:
        return RedirectResponse("/demo-shop", status_code=303)
    order = f"COFFEE-{uuid.uuid4().hex[:8].upper()}"
    origin = _origin(request)
    r = await _api(
        request,
        "POST",
        "/api/v1/merchant/checkout-sessions",
        json={
            "amount": MENU[item][1],
            "currency": "CNY",
            "order_reference": order,
            "description": f"{MENU[item][0]} ☕",
            "success_url": f"{origin}/demo-shop/orders/{order}",
            "cancel_url": f"{origin}/demo-shop",
        },
        headers={"Idempotency-Key": order},
    )
    if r.status_code != 201:
        return render(
            request,
            "demo_shop/shop.html",
            {"menu": [], "ready": True, "error": r.json()},
            status_code=502,
        )
    session = r.json()
    _remember_order(request, order, session["id"])
    return RedirectResponse(_hosted_page(request, session), status_code=303)


def _hosted_page(request: Request, session: dict[str, Any]) -> str:
    """The wallet's payment page on the origin the visitor is on (the shop and the demo wallet
    share one server: the visitor stays signed in)."""
    return _origin(request) + urlsplit(str(session["url"])).path


def _orders_path(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir) / "demo-shop-orders.json"


def _remember_order(request: Request, order: str, session_id: str) -> None:
    path = _orders_path(request)
    try:
        orders = json.loads(path.read_text())
    except (OSError, ValueError):
        orders = {}
    orders[order] = session_id
    path.write_text(json.dumps(orders))


@router.get("/demo-shop/orders/{order}", response_class=HTMLResponse)
async def order_page(request: Request, order: str) -> Response:
    try:
        session_id = json.loads(_orders_path(request).read_text()).get(order)
    except (OSError, ValueError):
        session_id = None
    if session_id is None or _config(request) is None:
        return RedirectResponse("/demo-shop", status_code=303)
    r = await _api(request, "GET", f"/api/v1/merchant/checkout-sessions/{session_id}")
    session = r.json() if r.status_code == 200 else None
    payment = None
    if session and session.get("payment_id"):
        p = await _api(request, "GET", f"/api/v1/merchant/payments/{session['payment_id']}")
        payment = p.json() if p.status_code == 200 else None
    heard = [e for e in _events(request) if _mentions(e, session_id, session)]
    return render(
        request,
        "demo_shop/order.html",
        {
            "order": order,
            "session": session,
            "payment": payment,
            "events": heard,
            "pay_url": _hosted_page(request, session) if session else None,
        },
    )


def _mentions(event: dict[str, Any], session_id: str, session: dict[str, Any] | None) -> bool:
    data = event.get("data", {})
    payment_id = (session or {}).get("payment_id")
    return data.get("id") in (session_id, payment_id) or data.get("payment_id") == payment_id


@router.post("/api/demo-shop/webhooks")
async def webhook(request: Request) -> Response:
    """The shop's webhook endpoint: verified as the Standard Webhooks spec says, then kept."""
    config = _config(request)
    body = await request.body()
    if config is None or not config.get("webhook_secret"):
        return JSONResponse({"error": "not configured"}, status_code=503)
    try:
        event = Webhook(config["webhook_secret"]).verify(body, dict(request.headers))
    except WebhookVerificationError:
        return JSONResponse({"error": "bad signature"}, status_code=400)
    record = {"webhook_id": request.headers.get("webhook-id"), **event}
    with _events_path(request).open("a") as out:
        out.write(json.dumps(record) + "\n")
    return JSONResponse({"received": True})
