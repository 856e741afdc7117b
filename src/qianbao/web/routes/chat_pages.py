"""/chat: the live chat page for signed-in customers (verified by their wallet session) and
visitors (a signed cookie set here). The script (static/js/chat.js) talks over /ws/chat and
falls back to the JSON API; without JavaScript the forms below still work."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.support.chat import desk, service
from qianbao.support.chat.api import config, customer_of, set_visitor_cookie
from qianbao.support.chat.views import Viewer
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import redirect
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
MAX_FORM_TEXT = 4000


async def _page(request: Request, *, exc: DomainError | None = None, text: str = "") -> Response:
    s = db_session(request)
    who, fresh = await customer_of(request, create=True)
    conv = await service.current(s, who)
    viewer = Viewer(s, side="customer", locale=locale_of(request))
    state: dict[str, Any] = {"conversation": None, "messages": []}
    if conv is not None:
        state = {
            "conversation": await viewer.conversation(conv),
            "messages": await viewer.messages(conv, await service.since(s, conv, 0)),
        }
    problem = domain_problem(exc, locale_of(request)) if exc else None
    cfg = config(request)
    response = render(
        request,
        "chat/page.html",
        {
            **state,
            "verified": who.verified,
            "problem": problem,
            "text": text,
            "max_image_bytes": cfg.max_image_bytes,
            "max_chars": cfg.max_message_chars,
        },
        status_code=problem.status if problem else 200,
    )
    set_visitor_cookie(request, response, fresh)
    return response


@router.get("/chat", response_class=HTMLResponse)
async def chat_page(request: Request) -> Response:
    return await _page(request)


async def _text(request: Request) -> str:
    form = await request.form(max_files=0, max_fields=5)
    value = form.get("text")
    await form.close()
    return value[:MAX_FORM_TEXT] if isinstance(value, str) else ""


@router.post("/chat", response_class=HTMLResponse)
async def chat_send(request: Request) -> Response:
    """Without JavaScript: write, then see the page again."""
    text = await _text(request)
    who, _ = await customer_of(request)
    if who.user_id is None and who.visitor_hash is None:
        return redirect("/chat")
    try:
        await service.post_message(db_session(request), config(request), who, text)
    except DomainError as exc:
        return await _page(request, exc=exc, text=text)
    return redirect("/chat", anchor="chat-form")


@router.post("/chat/handoff", response_class=HTMLResponse)
async def chat_handoff(request: Request) -> Response:
    s = db_session(request)
    who, _ = await customer_of(request)
    conv = await service.current(s, who)
    if conv is not None:
        await desk.handoff(s, config(request), await service.owned(s, who, conv.id, lock=True))
    return redirect("/chat", anchor="chat-form")
