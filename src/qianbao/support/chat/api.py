"""The live chat's JSON API under /api/v1/chat — the HTTP fallback of the WebSocket and what the
pages' script uses to send images. Customers: the signed-in user (wallet session or bearer
token) or a visitor (signed cookie); agents: staff with two-step verification."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from qianbao.identity.deps import Caller, optional_caller, require_ready_caller
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of
from qianbao.kernel.i18n import N_
from qianbao.support.chat import desk, service, visitor
from qianbao.support.chat.errors import AttachmentInvalid, ConversationNotFound
from qianbao.support.chat.service import Config, Customer
from qianbao.support.chat.views import Viewer

router = APIRouter(prefix="/api/v1/chat", tags=["live chat"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Agent = Annotated[Caller, Depends(require_ready_caller)]


class CsrfMissing(DomainError):
    code = "csrf.failed"
    kind = ErrorKind.FORBIDDEN
    message = N_("Your session expired. Reload the page and try again.")


class TextIn(BaseModel):
    text: str = Field(max_length=20_000)
    conversation_id: uuid.UUID | None = None


class ReadIn(BaseModel):
    upto: int = Field(ge=0, le=2**62)


class TransferIn(BaseModel):
    agent_id: uuid.UUID = Field(description="The user id of the agent who takes over")


class PresenceIn(BaseModel):
    online: bool
    capacity: int | None = None


def config(request: Request) -> Config:
    return Config.of(request.app.state.settings, request.app.state.identity.clock)


def _secret(request: Request) -> list[bytes]:
    return request.app.state.identity.secrets


def visitor_cookie_name(request: Request) -> str:
    return request.app.state.settings.chat.visitor_cookie


async def customer_of(request: Request, *, create: bool = False) -> tuple[Customer, str | None]:
    """Who writes, from the wallet session — never from what the widget says — or from the
    signed visitor cookie (a new one when ``create``; returned to be set on the response)."""
    locale = locale_of(request)
    caller = await optional_caller(request)
    if caller is not None:
        return Customer(user_id=caller.user.id, visitor_hash=None, locale=locale), None
    token = visitor.token_of(_secret(request), request.cookies.get(visitor_cookie_name(request)))
    fresh = None
    if token is None and create:
        fresh = visitor.new_cookie(_secret(request))
        token = visitor.token_of(_secret(request), fresh)
    hashed = visitor.visitor_hash(token) if token else None
    return Customer(user_id=None, visitor_hash=hashed, locale=locale), fresh


def set_visitor_cookie(request: Request, response: Response, cookie: str | None) -> None:
    if cookie is None:
        return
    response.set_cookie(
        visitor_cookie_name(request),
        cookie,
        max_age=30 * 24 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.http.https,
    )


async def require_csrf(request: Request) -> None:
    """Visitors have no session for the request guard to check: every browser write of the
    chat carries the page's CSRF token (bearer-token clients are not browsers)."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    expected = getattr(request.state, "csrf_token", "") or ""
    sent = request.headers.get("x-csrf-token", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfMissing()


Csrf = Depends(require_csrf)


async def _state(s: Any, viewer: Viewer, conv: Any, after: int) -> dict[str, Any]:
    return {
        "conversation": await viewer.conversation(conv),
        "messages": await viewer.messages(conv, await service.since(s, conv, after)),
    }


# -- customers --------------------------------------------------------------------------------
@router.get("/conversation", summary="My open conversation and its messages")
async def my_conversation(request: Request, s: DbSession) -> dict[str, Any]:
    who, _ = await customer_of(request)
    conv = await service.current(s, who)
    if conv is None:
        return {"conversation": None, "messages": []}
    return await _state(s, Viewer(s, side="customer", locale=who.locale), conv, 0)


@router.post("/messages", status_code=201, dependencies=[Csrf], summary="Write (masked, bot first)")
async def post_message(request: Request, s: DbSession, body: TextIn) -> Response:
    who, fresh = await customer_of(request, create=True)
    conv, msgs = await service.post_message(
        s, config(request), who, body.text, conversation_id=body.conversation_id
    )
    viewer = Viewer(s, side="customer", locale=who.locale)
    out = {
        "conversation": await viewer.conversation(conv),
        "messages": await viewer.messages(conv, msgs),
    }
    response = JSONResponse(out, status_code=201)
    set_visitor_cookie(request, response, fresh)
    return response


@router.post("/images", status_code=201, dependencies=[Csrf], summary="Send a PNG or JPEG image")
async def post_image(
    request: Request, s: DbSession, conversation_id: uuid.UUID | None = None
) -> Response:
    cfg = config(request)
    form = await request.form(max_files=1, max_fields=2, max_part_size=cfg.max_image_bytes + 1)
    upload = form.get("file")
    data = b""
    if upload is not None and not isinstance(upload, str):
        data = await upload.read(cfg.max_image_bytes + 1)
    await form.close()
    if not data:
        raise AttachmentInvalid(limit=service.human_size(cfg.max_image_bytes))
    who, fresh = await customer_of(request, create=True)
    conv, msg = await service.post_image(s, cfg, who, conversation_id, data)
    viewer = Viewer(s, side="customer", locale=who.locale)
    out = {
        "conversation": await viewer.conversation(conv),
        "messages": [await viewer.message(conv, msg)],
    }
    response = JSONResponse(out, status_code=201)
    set_visitor_cookie(request, response, fresh)
    return response


async def _mine(
    request: Request, s: Any, conversation_id: uuid.UUID, lock: bool = False
) -> tuple[Customer, Any]:
    who, _ = await customer_of(request)
    return who, await service.owned(s, who, conversation_id, lock=lock)


@router.get("/conversations/{conversation_id}/messages", summary="Messages after an id")
async def messages(
    request: Request,
    s: DbSession,
    conversation_id: uuid.UUID,
    since: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, Any]:
    who, conv = await _mine(request, s, conversation_id)
    return await _state(s, Viewer(s, side="customer", locale=who.locale), conv, since)


@router.post(
    "/conversations/{conversation_id}/handoff", dependencies=[Csrf], summary="Talk to a person"
)
async def handoff(
    request: Request,
    s: DbSession,
    conversation_id: uuid.UUID,
    since: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, Any]:
    who, conv = await _mine(request, s, conversation_id, lock=True)
    conv = await desk.handoff(s, config(request), conv)
    return await _state(s, Viewer(s, side="customer", locale=who.locale), conv, since)


@router.post("/conversations/{conversation_id}/read", status_code=204, dependencies=[Csrf])
async def read(
    request: Request, s: DbSession, conversation_id: uuid.UUID, body: ReadIn
) -> Response:
    _, conv = await _mine(request, s, conversation_id)
    await service.mark_read(s, config(request), conv, by="customer", upto=body.upto)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/typing", status_code=204, dependencies=[Csrf])
async def typing(request: Request, s: DbSession, conversation_id: uuid.UUID) -> Response:
    _, conv = await _mine(request, s, conversation_id)
    await service.typing(s, conv, by="customer")
    return Response(status_code=204)


def _image_response(found: Any) -> Response:
    return Response(
        found.data,
        media_type=found.content_type,
        headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"},
    )


@router.get("/conversations/{conversation_id}/images/{attachment_id}", include_in_schema=False)
async def image(
    request: Request, s: DbSession, conversation_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    _, conv = await _mine(request, s, conversation_id)
    return _image_response(await service.image(s, conv.id, attachment_id))


# -- agents -------------------------------------------------------------------------------------
@router.put("/agent/presence", summary="Agent: online or offline, capacity")
async def set_presence(
    request: Request, s: DbSession, me: Agent, body: PresenceIn
) -> dict[str, Any]:
    agent = await desk.set_presence(
        s, config(request), me.user, online=body.online, capacity=body.capacity
    )
    return {"online": agent.online, "capacity": agent.max_concurrent}


@router.get("/agent/conversations", summary="Agent: my conversations")
async def agent_conversations(request: Request, s: DbSession, me: Agent) -> dict[str, Any]:
    convs = await desk.mine(s, me.user)
    await desk.seen(s, me.user)  # an API client polling its conversations is present
    viewer = Viewer(s, side="agent", locale=locale_of(request))
    return {
        "conversations": [await viewer.conversation(c) for c in convs],
        "queued": await desk.queued_count(s),
    }


@router.get(
    "/agent/conversations/{conversation_id}/messages", summary="Agent: messages after an id"
)
async def agent_messages(
    request: Request,
    s: DbSession,
    me: Agent,
    conversation_id: uuid.UUID,
    since: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, Any]:
    conv = await desk.conversation_for_agent(s, me.user, conversation_id)
    await desk.seen(s, me.user)  # the page's fallback polling (socket down) is a sign of life
    return await _state(s, Viewer(s, side="agent", locale=locale_of(request)), conv, since)


@router.post(
    "/agent/conversations/{conversation_id}/messages", status_code=201, summary="Agent: reply"
)
async def agent_reply(
    request: Request, s: DbSession, me: Agent, conversation_id: uuid.UUID, body: TextIn
) -> Response:
    msg = await desk.reply(s, config(request), me.user, conversation_id, body.text)
    conv = await desk.conversation_for_agent(s, me.user, conversation_id)
    viewer = Viewer(s, side="agent", locale=locale_of(request))
    return JSONResponse({"messages": [await viewer.message(conv, msg)]}, status_code=201)


@router.post("/agent/conversations/{conversation_id}/close", summary="Agent: close")
async def agent_close(
    request: Request, s: DbSession, me: Agent, conversation_id: uuid.UUID
) -> dict[str, Any]:
    conv = await desk.close(s, config(request), me.user, conversation_id)
    return {
        "conversation": await Viewer(s, side="agent", locale=locale_of(request)).conversation(conv)
    }


@router.get("/agent/waiting", summary="Agent: the conversations waiting for a person")
async def agent_waiting(s: DbSession, me: Agent) -> dict[str, Any]:
    """Oldest first: first question (masked as stored), channel, seconds waited."""
    from qianbao.support.chat import waiting

    desk.check_agent(me.user)
    return {
        "waiting": [
            {
                "id": str(w.id),
                "channel": w.channel,
                "verified": w.verified,
                "question": w.question,
                "queued_at": w.queued_at.isoformat(),
                "waited_s": w.waited_s,
            }
            for w in await waiting.waiting(s)
        ]
    }


@router.post(
    "/agent/conversations/{conversation_id}/take",
    summary="Agent: take a waiting conversation by hand",
)
async def agent_take(
    request: Request, s: DbSession, me: Agent, conversation_id: uuid.UUID
) -> dict[str, Any]:
    """`409 chat.already_taken` (another agent was first, or it no longer waits),
    `409 chat.no_room` at capacity, `409 chat.go_online_first` when offline."""
    conv = await desk.take(s, config(request), me.user, conversation_id)
    return {
        "conversation": await Viewer(s, side="agent", locale=locale_of(request)).conversation(conv)
    }


@router.post(
    "/agent/conversations/{conversation_id}/transfer",
    summary="Agent: hand the conversation to another agent who is online with room",
)
async def agent_transfer(
    request: Request, s: DbSession, me: Agent, conversation_id: uuid.UUID, body: TransferIn
) -> dict[str, Any]:
    """`409 chat.transfer_unavailable` when that agent is offline, absent or full."""
    conv = await desk.transfer(s, config(request), me.user, conversation_id, body.agent_id)
    return {"conversation": {"id": str(conv.id), "status": conv.status}}


@router.post("/agent/conversations/{conversation_id}/read", status_code=204)
async def agent_read(
    request: Request, s: DbSession, me: Agent, conversation_id: uuid.UUID, body: ReadIn
) -> Response:
    conv = await desk.conversation_for_agent(s, me.user, conversation_id)
    await service.mark_read(s, config(request), conv, by="agent", upto=body.upto)
    return Response(status_code=204)


@router.post("/agent/conversations/{conversation_id}/typing", status_code=204)
async def agent_typing(
    request: Request, s: DbSession, me: Agent, conversation_id: uuid.UUID
) -> Response:
    conv = await desk.conversation_for_agent(s, me.user, conversation_id)
    await service.typing(s, conv, by="agent")
    return Response(status_code=204)


@router.get(
    "/agent/conversations/{conversation_id}/images/{attachment_id}", include_in_schema=False
)
async def agent_image(
    s: DbSession, me: Agent, conversation_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    conv = await desk.conversation_for_agent(s, me.user, conversation_id)
    return _image_response(await service.image(s, conv.id, attachment_id))


__all__ = ["ConversationNotFound", "customer_of", "router", "set_visitor_cookie"]
