"""The live chat's JSON API, part 2: a customer's past conversations — the list (signed-in
customers), a transcript as plain text (the customer or the visitor who wrote), the transcript
by e-mail and the CSAT rating (signed-in customers). The pages /support/chats and /chat offer
the same."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, require_ready_caller
from qianbao.kernel.http import TxRoute, locale_of, site_of
from qianbao.support.chat import desk, mail, service, transcript
from qianbao.support.chat.api import Csrf, DbSession, _mine
from qianbao.support.chat.repository import user as repo_user
from qianbao.support.console import ratings

router = APIRouter(prefix="/api/v1/chat", tags=["live chat"], route_class=TxRoute)
Me = Annotated[Caller, Depends(require_ready_caller)]


class ConversationItem(BaseModel):
    id: uuid.UUID
    status: str
    title: str = Field(description="The customer's first message (masked as stored)")
    created_at: datetime
    closed_at: datetime | None
    agent: str | None = Field(description="The agent's name and public id, when one took it")


class ChatRatingIn(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class ChatRatingOut(BaseModel):
    conversation_id: uuid.UUID
    score: int
    comment: str | None


class TranscriptSent(BaseModel):
    sent_to: str


@router.get(
    "/conversations",
    response_model=list[ConversationItem],
    summary="My conversations, newest first (signed-in customers)",
)
async def my_conversations(request: Request, s: DbSession, caller: Me) -> list[ConversationItem]:
    items = []
    cards: dict[uuid.UUID, str | None] = {}  # one lookup per agent, not per conversation
    for conv, title in await service.of_user(s, caller.user.id):
        if conv.agent_id is not None and conv.agent_id not in cards:
            agent = await repo_user(s, conv.agent_id)
            c = await desk.card_of(s, agent, locale_of(request)) if agent is not None else None
            cards[conv.agent_id] = f"{c.name} ({c.agent_id})" if c is not None else None
        card = cards.get(conv.agent_id) if conv.agent_id is not None else None
        items.append(
            ConversationItem(
                id=conv.id,
                status=conv.status,
                title=title,
                created_at=conv.created_at,
                closed_at=conv.closed_at,
                agent=card,
            )
        )
    return items


@router.get(
    "/conversations/{conversation_id}/transcript",
    response_class=PlainTextResponse,
    summary="The conversation as plain text (its customer or visitor)",
)
async def transcript_text(
    request: Request, s: DbSession, conversation_id: uuid.UUID
) -> PlainTextResponse:
    _, conv = await _mine(request, s, conversation_id)
    site = site_of(request)
    return PlainTextResponse(
        await transcript.as_text(s, conv, locale_of(request), site=site),
        headers={"Cache-Control": "private, no-store"},
    )


@router.post(
    "/conversations/{conversation_id}/transcript/email",
    response_model=TranscriptSent,
    status_code=202,
    dependencies=[Csrf],
    summary="E-mail me the transcript (signed-in customers, at the verified address)",
)
async def transcript_email(
    request: Request, s: DbSession, conversation_id: uuid.UUID, caller: Me
) -> TranscriptSent:
    """`409 chat.no_email` without a verified e-mail address."""
    _, conv = await _mine(request, s, conversation_id)
    sent_to = await mail.email_transcript(
        s, request.app.state.settings, caller.user, conv, locale_of(request), site=site_of(request)
    )
    return TranscriptSent(sent_to=sent_to)


@router.get(
    "/conversations/{conversation_id}/rating",
    response_model=ChatRatingOut | None,
    summary="My rating of a closed conversation (null when not rated)",
)
async def my_rating(s: DbSession, conversation_id: uuid.UUID, caller: Me) -> ChatRatingOut | None:
    conv, rating = await ratings.chat_rating(s, caller.user, conversation_id)
    if rating is None:
        return None
    return ChatRatingOut(conversation_id=conv.id, score=rating.score, comment=rating.comment)


@router.post(
    "/conversations/{conversation_id}/rating",
    response_model=ChatRatingOut,
    status_code=201,
    dependencies=[Csrf],
    summary="Rate a closed conversation, once (signed-in customers)",
)
async def rate(
    s: DbSession, conversation_id: uuid.UUID, body: ChatRatingIn, caller: Me
) -> ChatRatingOut:
    """`409 support.rating_refused` when not closed after an agent's help, or rated already."""
    rating = await ratings.rate_chat(s, caller.user, conversation_id, body.score, body.comment)
    return ChatRatingOut(
        conversation_id=conversation_id, score=rating.score, comment=rating.comment
    )
