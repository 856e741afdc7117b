"""/console/chat: the agents' side of the live chat (support agents, supervisors and admins with
two-step verification, as for the rest of the console): online/offline with a capacity, the
conversations they hold, a conversation with the customer shown as "verified customer" (name and
number masked) or "visitor", reply and close. The script talks over /ws/console/chat."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.accounts import by_id
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.chat import after_hours, desk, service, waiting
from qianbao.support.chat.api import config
from qianbao.support.chat.errors import ConversationNotFound
from qianbao.support.chat.views import Viewer
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import form_values, notice_of, redirect
from qianbao.web.routes.console_pages import _staff
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
NOTICES = {
    "chat_closed": N_("The conversation is closed."),
    "chat_transferred": N_("The conversation is with the other agent now."),
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    if key in NOTICES:
        return gettext(locale_of(request), NOTICES[key])
    return notice_of(request)


def mask_name(name: str | None) -> str:
    if not name:
        return "—"
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    digits = phone[-11:] if len(phone) >= 11 else phone
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


async def _customer(s: Any, conv: Any) -> dict[str, Any]:
    if conv.user_id is None:
        return {"verified": False, "channel": conv.channel}
    user = await by_id(s, conv.user_id)
    return {
        "verified": True,
        "channel": conv.channel,  # web, wechat, telegram (support.im)
        "name": mask_name(user.real_name),
        "phone": mask_phone(user.phone),
        "context_url": f"/console/customers/{user.id}",
    }


async def _list_page(request: Request, who: Any, exc: DomainError | None = None) -> Response:
    s, cfg = db_session(request), config(request)
    agent = await desk.presence(s, cfg, who.user)
    convs = await desk.mine(s, who.user)
    unread = await desk.unread(s, convs)
    items = [
        {
            "id": str(c.id),
            "customer": await _customer(s, c),
            "assigned_at": c.assigned_at,
            "unread": unread.get(c.id, 0),
        }
        for c in convs
    ]
    problem = domain_problem(exc, locale_of(request)) if exc else None
    return render(
        request,
        "console/chat.html",
        {
            "agent": agent,
            "items": items,
            "queued": await desk.queued_count(s),
            "max_capacity": cfg.max_capacity,
            "waiting": await waiting.waiting(s),
            "abandon_minutes": max(1, round(cfg.abandon_after_s / 60)),
            "open_now": cfg.hours.is_open(cfg.now()),
            "hours": cfg.hours,
            "desk": await after_hours.notice(s, cfg, locale_of(request)),
            "problem": problem,
            "notice": _notice(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/chat", response_class=HTMLResponse)
async def console_chat(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _list_page(request, who)


@router.post("/console/chat/presence", response_class=HTMLResponse)
async def console_presence(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    values = await form_values(request)
    try:
        capacity = int(values.get("capacity", "") or 0)
    except ValueError:
        capacity = 0
    try:
        await desk.set_presence(
            db_session(request),
            config(request),
            who.user,
            online=values.get("online") == "1",
            capacity=capacity,
        )
    except DomainError as exc:
        return await _list_page(request, who, exc)
    return redirect("/console/chat", notice="preferences_saved")


def _conversation_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ConversationNotFound() from None


@router.get("/console/chat/{conversation_id}", response_class=HTMLResponse)
async def console_conversation(request: Request, conversation_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _conversation_page(request, who, _conversation_id(conversation_id))


async def _conversation_page(
    request: Request, who: Any, cid: uuid.UUID, exc: DomainError | None = None
) -> Response:
    s, cfg = db_session(request), config(request)
    conv = await desk.view_for_agent(s, who.user, cid)
    viewer = Viewer(s, side="agent", locale=locale_of(request))
    targets = []
    if conv.status == "assigned":
        targets = await desk.transfer_targets(s, cfg, who.user, conv)
    problem = domain_problem(exc, locale_of(request)) if exc else None
    return render(
        request,
        "console/chat_view.html",
        {
            "conversation": await viewer.conversation(conv),
            "messages": await viewer.messages(conv, await service.since(s, conv, 0)),
            "customer": await _customer(s, conv),
            "max_chars": cfg.max_message_chars,
            "targets": targets,
            "problem": problem,
        },
        status_code=problem.status if problem else 200,
    )


@router.post("/console/chat/{conversation_id}/reply", response_class=HTMLResponse)
async def console_reply(request: Request, conversation_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    form = await request.form(max_files=0, max_fields=5)
    text = form.get("text")
    await form.close()
    cid = _conversation_id(conversation_id)
    await desk.reply(
        db_session(request), config(request), who.user, cid, text if isinstance(text, str) else ""
    )
    return redirect(f"/console/chat/{cid}", anchor="chat-form")


@router.post("/console/chat/{conversation_id}/take", response_class=HTMLResponse)
async def console_take(request: Request, conversation_id: str) -> Response:
    """Take a waiting chat by hand ("接入"); if another agent was quicker, the list says so."""
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    cid = _conversation_id(conversation_id)
    try:
        await desk.take(db_session(request), config(request), who.user, cid)
    except DomainError as exc:
        if exc.kind == ErrorKind.NOT_FOUND:
            raise
        return await _list_page(request, who, exc)
    return redirect(f"/console/chat/{cid}", anchor="chat-form")


@router.post("/console/chat/{conversation_id}/close", response_class=HTMLResponse)
async def console_close(request: Request, conversation_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    await desk.close(
        db_session(request), config(request), who.user, _conversation_id(conversation_id)
    )
    return redirect("/console/chat", notice="chat_closed")


@router.post("/console/chat/{conversation_id}/transfer", response_class=HTMLResponse)
async def console_transfer(request: Request, conversation_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    values = await form_values(request)
    cid = _conversation_id(conversation_id)
    try:
        target = uuid.UUID(values.get("agent", ""))
    except ValueError:
        target = uuid.UUID(int=0)  # nobody: refused below like an unavailable agent
    try:
        await desk.transfer(db_session(request), config(request), who.user, cid, target)
    except DomainError as exc:
        if exc.kind == ErrorKind.NOT_FOUND:
            raise
        return await _conversation_page(request, who, cid, exc)
    return redirect("/console/chat", notice="chat_transferred")
