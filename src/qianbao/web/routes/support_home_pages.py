"""/support: "My conversations and tickets" (E7) — the signed-in user's live chats and tickets
together, newest first — and /support/chats/{id}: one conversation as the customer saw it, its
rating, the transcript to download (plain text, masked as stored, nothing internal) or to e-mail
to the verified address. Another user's conversation (or a visitor's) is simply not found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.chat import mail, service
from qianbao.support.chat.models import ChatConversation
from qianbao.support.chat.service import Customer
from qianbao.support.chat.views import Viewer
from qianbao.support.console import ratings
from qianbao.support.tickets import service as tickets
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import current_caller, login_redirect, redirect
from qianbao.web.routes.chat_pages import conversation_id_of, transcript_download
from qianbao.web.routes.ticket_pages import labels
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
CHAT_STATUS = {
    "bot": N_("With the assistant"),
    "queued": N_("Waiting for an agent"),
    "assigned": N_("With an agent"),
    "closed": N_("Closed"),
}
NOTICES = {"transcript_sent": N_("The transcript is on its way to your e-mail address.")}
TITLE_CHARS = 80


def last_activity(conv: ChatConversation) -> datetime:
    times = [conv.created_at, conv.queued_at, conv.assigned_at, conv.closed_at]
    return max(t for t in times if t is not None)


@router.get("/support", response_class=HTMLResponse)
async def support_home(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s, locale = db_session(request), locale_of(request)
    items: list[dict[str, Any]] = []
    for conv, first in await service.of_user(s, caller.user.id):
        title = first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"
        items.append(
            {
                "kind": "chat",
                "title": title or gettext(locale, N_("Live chat")),
                "url": f"/support/chats/{conv.id}",
                "status": gettext(locale, CHAT_STATUS.get(conv.status, conv.status)),
                "done": conv.status == "closed",
                "at": last_activity(conv),
                "id": str(conv.id),
            }
        )
    status_labels = labels(locale)["status"]
    for t in await tickets.my_tickets(s, caller.user.id):
        items.append(
            {
                "kind": "ticket",
                "title": t.subject,
                "reference": t.reference,
                "url": f"/support/tickets/{t.reference}",
                "status": status_labels.get(t.status, t.status),
                "done": t.status in ("resolved", "closed"),
                "at": t.updated_at,
            }
        )
    items.sort(key=lambda i: i["at"], reverse=True)
    return render(request, "support/home.html", {"items": items})


async def _mine(request: Request, caller: Any, raw: str) -> ChatConversation:
    who = Customer(user_id=caller.user.id, visitor_hash=None, locale=locale_of(request))
    return await service.owned(db_session(request), who, conversation_id_of(raw))


async def _chat_page(
    request: Request, caller: Any, conv: ChatConversation, exc: DomainError | None = None
) -> Response:
    s, locale = db_session(request), locale_of(request)
    viewer = Viewer(s, side="customer", locale=locale)
    rated, rating = await ratings.chat_rating(s, caller.user, conv.id)
    key = request.query_params.get("notice") or ""
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "support/home_chat.html",
        {
            "conversation": await viewer.conversation(conv),
            "messages": await viewer.messages(conv, await service.since(s, conv, 0)),
            "started": conv.created_at,
            "rate_conv": rated,
            "rating": rating,
            "can_rate": ratings.can_rate_chat(rated),
            "notice": gettext(locale, NOTICES[key]) if key in NOTICES else None,
            "problem": problem,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/support/chats/{conversation_id}", response_class=HTMLResponse)
async def chat_history(request: Request, conversation_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _chat_page(request, caller, await _mine(request, caller, conversation_id))


@router.get("/support/chats/{conversation_id}/transcript.txt")
async def chat_transcript(request: Request, conversation_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await transcript_download(request, await _mine(request, caller, conversation_id))


@router.post("/support/chats/{conversation_id}/transcript", response_class=HTMLResponse)
async def chat_transcript_email(request: Request, conversation_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    conv = await _mine(request, caller, conversation_id)
    try:
        await mail.email_transcript(
            db_session(request),
            request.app.state.settings,
            caller.user,
            conv,
            locale_of(request),
        )
    except DomainError as exc:
        return await _chat_page(request, caller, conv, exc)
    return redirect(f"/support/chats/{conv.id}", notice="transcript_sent")
