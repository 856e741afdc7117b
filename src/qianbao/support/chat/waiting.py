"""The chat queue as agents see it (issue 20): the conversations waiting for a person, oldest
first, each with its first question, how long it has waited and its channel — so an agent with
room can pick one by hand (``desk.take``) besides the round-robin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.support.chat.models import ChatConversation, ChatMessage

FIRST_QUESTION_CHARS = 120


class ChatAlreadyTaken(DomainError):
    code = "chat.already_taken"
    kind = ErrorKind.CONFLICT
    message = N_("Another agent has just taken this chat (or it is no longer waiting).")


class NoRoomForChat(DomainError):
    code = "chat.no_room"
    kind = ErrorKind.CONFLICT
    message = N_(
        "You are at your limit of {limit} chats at once. Close one or raise your limit first."
    )


class GoOnlineFirst(DomainError):
    code = "chat.go_online_first"
    kind = ErrorKind.CONFLICT
    message = N_("Go online first: only an agent who is online can take a chat.")


@dataclass(frozen=True)
class Waiting:
    id: uuid.UUID
    channel: str  # web, wechat, telegram
    verified: bool  # a signed-in customer (else a visitor)
    question: str  # the customer's first message (masked as stored), shortened
    queued_at: datetime
    waited_s: int


async def waiting(s: Any, limit: int = 50) -> list[Waiting]:
    """Waiting conversations, oldest first (no lock: a list to show)."""
    first = (
        select(ChatMessage.conversation_id, func.min(ChatMessage.id).label("first_id"))
        .where(ChatMessage.sender == "customer")
        .group_by(ChatMessage.conversation_id)
        .subquery()
    )
    rows = await s.execute(
        select(ChatConversation, ChatMessage.body)
        .outerjoin(first, first.c.conversation_id == ChatConversation.id)
        .outerjoin(ChatMessage, ChatMessage.id == first.c.first_id)
        .where(ChatConversation.status == "queued")
        .order_by(ChatConversation.queued_at, ChatConversation.id)
        .limit(limit)
    )
    now = clock_of(s).now()
    out = []
    for conv, body in rows.all():
        since = conv.queued_at or conv.created_at
        text = " ".join((body or "").split())
        if len(text) > FIRST_QUESTION_CHARS:
            text = text[: FIRST_QUESTION_CHARS - 1] + "…"
        out.append(
            Waiting(
                id=conv.id,
                channel=conv.channel,
                verified=conv.user_id is not None,
                question=text,
                queued_at=since,
                waited_s=max(0, int((now - since).total_seconds())),
            )
        )
    return out
