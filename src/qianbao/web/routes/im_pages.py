"""WeChat Official Account and Telegram bot webhooks (E8) and the wallet page that links an
account with a one-time code.

The webhooks are not browser forms: the request guard lets ``/hooks/*`` through without a
CSRF token (web/middleware.py); each proves itself instead — WeChat with the signature over
its Token, Telegram with the secret-token header. They answer at once (WeChat: ``success``):
the answers go out from the worker through the platforms' APIs."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.responses import Response

from qianbao.kernel.http import TxRoute, db_session, locale_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.chat.service import Config
from qianbao.support.im import inbound, linking, telegram, wechat
from qianbao.support.im.config import ImConfig
from qianbao.support.im.errors import PushInvalid, PushRefused
from qianbao.web.routes.account_common import current_caller, login_redirect, redirect
from qianbao.web.templating import render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
PAGE = "/me/linked-accounts"
NOTICES = {"unlinked": N_("The chat account was unlinked.")}


def _cfg(request: Request) -> ImConfig:
    return ImConfig.of(request.app.state.settings)


def _chat(request: Request) -> Config:
    return Config.of(request.app.state.settings, request.app.state.identity.clock)


def _now(request: Request) -> Any:
    return request.app.state.identity.clock.now()


def _refused(status: int = 403) -> Response:
    return PlainTextResponse("forbidden" if status == 403 else "bad request", status_code=status)


# -- WeChat --------------------------------------------------------------------------------------
def _wechat_check(request: Request, cfg: ImConfig) -> None:
    q = request.query_params
    wechat.check(
        cfg.secret("wechat_token"),
        signature_sent=q.get("signature"),
        timestamp=q.get("timestamp"),
        nonce=q.get("nonce"),
        now=_now(request),
        max_age_s=cfg.wechat_max_age_s,
    )


@router.get("/hooks/wechat")
async def wechat_verify(request: Request) -> Response:
    """The server check when the URL is registered: echo ``echostr`` if the signature holds."""
    cfg = _cfg(request)
    if not cfg.wechat_enabled:
        return PlainTextResponse("not found", status_code=404)
    try:
        _wechat_check(request, cfg)
    except PushRefused:
        return _refused()
    return PlainTextResponse(request.query_params.get("echostr", ""))


@router.post("/hooks/wechat")
async def wechat_push(request: Request) -> Response:
    cfg = _cfg(request)
    if not cfg.wechat_enabled:
        return PlainTextResponse("not found", status_code=404)
    try:
        _wechat_check(request, cfg)
        push = wechat.parse(await request.body())
    except PushRefused:
        return _refused()
    except PushInvalid:
        return _refused(400)
    if push.msg_type == "event" and push.event != "subscribe":
        return PlainTextResponse("success")  # unsubscribe, menu clicks, ...: nothing to answer
    await inbound.handle(
        db_session(request),
        cfg,
        _chat(request),
        inbound.Incoming(
            channel="wechat",
            peer_id=push.from_user,
            external_id=push.dedup_id,
            text=push.content if push.msg_type == "text" else None,
            welcome=push.msg_type == "event",
        ),
    )
    return PlainTextResponse("success")


# -- Telegram ------------------------------------------------------------------------------------
@router.post("/hooks/telegram")
async def telegram_update(request: Request) -> Response:
    cfg = _cfg(request)
    if not cfg.telegram_enabled:
        return PlainTextResponse("not found", status_code=404)
    try:
        telegram.check(cfg.secret("telegram_secret_token"), request.headers.get(telegram.HEADER))
        update = telegram.parse(json.loads(await request.body()))
    except PushRefused:
        return _refused()
    except (PushInvalid, ValueError):
        return _refused(400)
    if update.peer is not None:
        locale = "zh_CN" if (update.language or "zh").lower().startswith("zh") else "en"
        await inbound.handle(
            db_session(request),
            cfg,
            _chat(request),
            inbound.Incoming(
                channel="telegram",
                peer_id=update.peer,
                external_id=str(update.update_id),
                text=update.text,
                locale=locale,
            ),
        )
    return PlainTextResponse("ok")


# -- the wallet's page ---------------------------------------------------------------------------
async def _page(request: Request, user_id: uuid.UUID, code: Any = None) -> Response:
    cfg = _cfg(request)
    links = await linking.links(db_session(request), user_id)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return render(
        request,
        "account/linked_accounts.html",
        {
            "links": [
                {
                    "id": link.id,
                    "channel": link.channel,
                    "peer": linking.masked_peer(link.peer_id),
                    "linked_at": link.linked_at,
                }
                for link in links
            ],
            "code": code,
            "ttl_minutes": max(cfg.link_code_ttl_s // 60, 1),
            "wechat": cfg.wechat_account if cfg.wechat_enabled else None,
            "telegram": cfg.telegram_username if cfg.telegram_enabled else None,
            "notice": gettext(locale_of(request), notice) if notice else None,
        },
    )


@router.get(PAGE, response_class=HTMLResponse)
async def linked_accounts(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _page(request, caller.user.id)


@router.post(f"{PAGE}/code", response_class=HTMLResponse)
async def new_link_code(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    code = await linking.new_code(db_session(request), _cfg(request), caller.user.id)
    return await _page(request, caller.user.id, code)


@router.post(f"{PAGE}/{{link_id}}/unlink")
async def unlink(request: Request, link_id: uuid.UUID) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    await linking.unlink(db_session(request), caller.user.id, link_id)
    return redirect(PAGE, notice="unlinked")
