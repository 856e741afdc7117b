"""The dashboard's API keys (the merchant's owner only): the list, a new key, rotation (the old
key keeps working for the overlap) and revocation after a confirmation. A new secret is shown
once, in the answer to the form that made it, and never again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import identity_ctx
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.merchants import keys
from qianbao.merchants.models import KEY_SCOPES
from qianbao.web.routes.merchant_pages_common import (
    SCOPES,
    Desk,
    audited,
    desk,
    page,
    redirect_to,
)

router = APIRouter(include_in_schema=False, route_class=TxRoute)
NO_STORE = {"Cache-Control": "no-store"}


async def _keys_page(
    request: Request,
    who: Desk,
    *,
    secret: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    exc: DomainError | None = None,
) -> Response:
    rows = await keys.list_keys(db_session(request), who.merchant.id)
    now = request.app.state.clock.now()
    return page(
        request,
        who,
        "merchant/keys.html",
        "keys",
        {
            "keys": rows,
            "now": now,
            "scopes": [(s, SCOPES[s]) for s in KEY_SCOPES],
            "scope_order": KEY_SCOPES,
            "secret": secret,
            "values": values or {"name": "", "scopes": ["read"]},
        },
        exc=exc,
        headers=NO_STORE,
    )


@router.get("/merchant/keys", response_class=HTMLResponse)
async def keys_page(request: Request) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    return await _keys_page(request, who)


@router.post("/merchant/keys", response_class=HTMLResponse)
async def create_key(request: Request) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    form = await request.form(max_files=0, max_fields=20)
    name = str(form.get("name") or "").strip()[:60]
    scopes = [str(v) for v in form.getlist("scopes")][:10]
    await form.close()
    s = db_session(request)
    try:
        async with s.begin_nested():
            key, secret = await keys.create_key(
                s, identity_ctx(request), who.merchant, name=name, scopes=scopes, by=who.user_id
            )
    except DomainError as exc:
        return await _keys_page(request, who, values={"name": name, "scopes": scopes}, exc=exc)
    await audited(request, who, "merchant.key_created", key=key.prefix)
    shown = {"value": secret, "key": key, "rotated": None}
    return await _keys_page(request, who, secret=shown)


@router.post("/merchant/keys/{key_id}/rotate", response_class=HTMLResponse)
async def rotate_key(request: Request, key_id: str) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    old = next((k for k in await keys.list_keys(s, who.merchant.id) if str(k.id) == key_id), None)
    new, secret = await keys.rotate_key(
        s, identity_ctx(request), who.merchant, key_id, by=who.user_id
    )
    await audited(request, who, "merchant.key_rotated", key=new.prefix)
    shown = {"value": secret, "key": new, "rotated": old}
    return await _keys_page(request, who, secret=shown)


@router.get("/merchant/keys/{key_id}/revoke", response_class=HTMLResponse)
async def revoke_confirm(request: Request, key_id: str) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    found = next(
        (
            k
            for k in await keys.list_keys(db_session(request), who.merchant.id)
            if str(k.id) == key_id and k.status == "active"
        ),
        None,
    )
    if found is None:
        return redirect_to("/merchant/keys")
    return page(request, who, "merchant/key_revoke.html", "keys", {"key": found})


@router.post("/merchant/keys/{key_id}/revoke", response_class=HTMLResponse)
async def revoke_key(request: Request, key_id: str) -> Response:
    who = await desk(request, manage=True)
    if isinstance(who, Response):
        return who
    await keys.revoke_key(db_session(request), who.merchant, key_id)
    await audited(request, who, "merchant.key_revoked", key_id=key_id)
    return redirect_to("/merchant/keys", "key_revoked")
