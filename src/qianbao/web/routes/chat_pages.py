"""/chat: the live chat page for signed-in customers (verified by their wallet session) and
visitors (a signed cookie set here). The script (static/js/chat.js) talks over /ws/chat and
falls back to the JSON API; without JavaScript the forms below still work.

/chat/rating: "Was this conversation helpful?" once the agent closed a signed-in customer's
conversation (the console's ratings, one per conversation and customer)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.responses import Response

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.http import TxRoute, db_session, site_of
from qianbao.kernel.i18n import N_
from qianbao.support.chat import after_hours, desk, service, transcript
from qianbao.support.chat.api import config, customer_of, set_visitor_cookie
from qianbao.support.chat.errors import ConversationNotFound
from qianbao.support.chat.views import Viewer
from qianbao.support.console import ratings
from qianbao.wallet.history import get_transaction
from qianbao.web.formatting import format_datetime, format_money
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import current_caller, login_redirect, redirect
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
    rate: dict[str, Any] = {"rate_conv": None}
    closed = await service.recently_closed(s, cfg, who) if conv is None else None
    if closed is not None and who.user_id is not None and not request.query_params.get("new"):
        caller = await current_caller(request)
        if caller is not None:
            rate = await _rating_state(s, caller.user, closed.id)
    desk_state = await _desk_state(request, who, conv)
    if desk_state["ended"] is not None and closed is None:
        closed = desk_state["ended"]["conversation"]
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
            "transcript_of": closed,
            **rate,
            **desk_state,
        },
        status_code=problem.status if problem else 200,
    )
    set_visitor_cookie(request, response, fresh)
    return response


@router.get("/chat", response_class=HTMLResponse)
async def chat_page(request: Request, transaction: str = "") -> Response:
    """``?transaction=<id>`` (from a transaction's "A question about this transaction?"): the
    message box starts with its reference, amount and time, so the agent sees which one."""
    text = ""
    if transaction:
        caller = await current_caller(request)
        if caller is not None:
            try:
                tx = await get_transaction(db_session(request), caller.user.id, transaction[:40])
            except DomainError:
                tx = None  # not theirs, or no such transaction: an empty box
            if tx is not None:
                locale = locale_of(request)
                text = gettext(
                    locale,
                    N_("About transaction {reference} ({amount}, {time}): "),
                    reference=tx.reference,
                    amount=format_money(tx.amount, tx.currency, locale),
                    time=format_datetime(tx.created_at, locale),
                )
    return await _page(request, text=text)


async def _text(request: Request) -> str:
    form = await request.form(max_files=0, max_fields=5)
    value = form.get("text")
    await form.close()
    return value[:MAX_FORM_TEXT] if isinstance(value, str) else ""


@router.get("/chat/transcript.txt")
async def chat_transcript(request: Request, c: str = "") -> Response:
    """The customer's own conversation as plain text: a signed-in customer's or a visitor's
    (by the signed visitor cookie); anyone else's is not found."""
    s = db_session(request)
    who, _ = await customer_of(request)
    if who.user_id is None and who.visitor_hash is None:
        raise ConversationNotFound()
    return await transcript_download(request, await service.owned(s, who, conversation_id_of(c)))


async def transcript_download(request: Request, conv: Any) -> Response:
    """A conversation the caller may see, as a plain-text download (not cached)."""
    site = site_of(request)
    text = await transcript.as_text(db_session(request), conv, locale_of(request), site=site)
    return PlainTextResponse(
        text,
        headers={
            "Content-Disposition": f'attachment; filename="{transcript.filename(conv)}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


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


async def _desk_state(request: Request, who: Any, conv: Any) -> dict[str, Any]:
    """The hours and the reply to expect (above "talk to a person"); when nobody is there, the
    call-back slots (or the booking made); the last ended conversation, read-only, unless the
    customer started a new one (``?new=1``)."""
    s, cfg, locale = db_session(request), config(request), locale_of(request)
    notice = await after_hours.notice(s, cfg, locale)
    out: dict[str, Any] = {"desk": notice, "slots": [], "booked": None, "ended": None}
    if not notice.staffed:
        out["booked"] = await after_hours.booked(s, who, locale)
        if out["booked"] is None:
            now = cfg.now()
            out["slots"] = [
                (x.key, after_hours.slot_label(x, now, locale))
                for x in await after_hours.slots(s, cfg)
            ]
    if conv is None and request.query_params.get("new") != "1":
        last = await after_hours.last_ended(s, who)
        if last is not None:
            viewer = Viewer(s, side="customer", locale=locale)
            out["ended"] = {
                "conversation": last,
                "view": await viewer.conversation(last),
                "messages": await viewer.messages(last, await service.since(s, last, 0)),
            }
    return out


@router.post("/chat/callback", response_class=HTMLResponse)
async def chat_callback(request: Request) -> Response:
    """Book a call-back slot (after hours): a signed-in customer on the account's number, a
    visitor on the number they give."""
    form = await request.form(max_files=0, max_fields=5)
    values = {k: v[:64] for k, v in form.items() if isinstance(v, str)}
    await form.close()
    who, _ = await customer_of(request)
    if who.user_id is None and who.visitor_hash is None:
        return redirect("/chat")
    caller = await current_caller(request) if who.user_id is not None else None
    try:
        await after_hours.book_callback(
            db_session(request), config(request), who, caller.user if caller else None,
            slot=values.get("slot", ""), phone=values.get("phone", ""),
        )  # fmt: skip
    except DomainError as exc:
        return await _page(request, exc=exc)
    return redirect("/chat", anchor="chat-form")


@router.post("/chat/handoff", response_class=HTMLResponse)
async def chat_handoff(request: Request) -> Response:
    s = db_session(request)
    who, _ = await customer_of(request)
    conv = await service.current(s, who)
    if conv is not None:
        await desk.handoff(s, config(request), await service.owned(s, who, conv.id, lock=True))
    return redirect("/chat", anchor="chat-form")


async def _rating_state(s: Any, user: Any, conversation_id: uuid.UUID) -> dict[str, Any]:
    conv, rating = await ratings.chat_rating(s, user, conversation_id)
    return {"rate_conv": conv, "rating": rating, "can_rate": ratings.can_rate_chat(conv)}


def conversation_id_of(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ConversationNotFound() from None


@router.get("/chat/rating", response_class=HTMLResponse)
async def chat_rating(request: Request, c: str = "") -> Response:
    """The rating snippet of a closed conversation (what the script shows when the agent closes
    it): the form, the thanks, or an empty placeholder (visitors, nothing to rate)."""
    caller = await current_caller(request)
    state: dict[str, Any] = {"rate_conv": None}
    if caller is not None:
        state = await _rating_state(db_session(request), caller.user, conversation_id_of(c))
    return render(request, "chat/_rating.html", state, block="rating")


@router.post("/chat/rating", response_class=HTMLResponse)
async def chat_rate(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await request.form(max_files=0, max_fields=6)
    values = {k: v[:MAX_FORM_TEXT] for k, v in form.items() if isinstance(v, str)}
    await form.close()
    s, cid = db_session(request), conversation_id_of(values.get("conversation", ""))
    problem = None
    try:
        await ratings.rate_chat(s, caller.user, cid, values.get("score", ""), values.get("comment"))
    except DomainError as exc:
        if exc.kind == ErrorKind.NOT_FOUND:
            raise
        problem = domain_problem(exc, locale_of(request))
    if request.headers.get("hx-request") != "true":  # without JavaScript: the conversation page
        return redirect(f"/support/chats/{cid}", anchor="chat-rating")
    state = await _rating_state(s, caller.user, cid)
    return render(
        request,
        "chat/_rating.html",
        {**state, "rating_problem": problem},
        block="rating",
        status_code=problem.status if problem else 200,
    )
