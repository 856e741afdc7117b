"""CSAT (E10): after a ticket is resolved (or closed), or a live chat is closed by its agent, the
customer rates the help 1-5 with an optional comment, once. Other people's tickets and
conversations are simply not found."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from qianbao.support.chat import repository as chat_repo
from qianbao.support.chat.errors import ConversationNotFound
from qianbao.support.chat.models import ChatConversation
from qianbao.support.console.errors import ChatRatingRefused, RatingInvalid, RatingRefused
from qianbao.support.console.models import Rating
from qianbao.support.tickets import service as tickets

RATEABLE = ("resolved", "closed")
MAX_COMMENT = 1000


def _score(score: Any) -> int:
    try:
        value = int(str(score).strip())
    except ValueError:
        raise RatingInvalid() from None
    if not 1 <= value <= 5:
        raise RatingInvalid()
    return value


async def ticket_rating(session: Any, user: Any, reference: str) -> tuple[Any, Rating | None]:
    """The customer's own ticket and their rating of it (None: not rated yet)."""
    ticket = await tickets.my_ticket(session, user.id, reference)
    row = await session.execute(
        select(Rating).where(Rating.ticket_id == ticket.id, Rating.user_id == user.id)
    )
    return ticket, row.scalar_one_or_none()


def can_rate(ticket: Any) -> bool:
    return ticket.status in RATEABLE and ticket.merged_into is None


async def rate_ticket(
    session: Any, user: Any, reference: str, score: Any, comment: str | None = None
) -> Rating:
    """One rating per ticket and customer, only by the ticket's owner, only once it is resolved."""
    value = _score(score)
    ticket, existing = await ticket_rating(session, user, reference)
    if existing is not None or not can_rate(ticket):
        raise RatingRefused()
    note = (comment or "").strip()[:MAX_COMMENT] or None
    result = await session.execute(
        insert(Rating)
        .values(ticket_id=ticket.id, user_id=user.id, score=value, comment=note)
        .on_conflict_do_nothing(
            index_elements=["ticket_id", "user_id"], index_where=text("ticket_id IS NOT NULL")
        )
        .returning(Rating.id)
    )
    new_id = result.scalar_one_or_none()
    if new_id is None:  # a second submission raced the first one
        raise RatingRefused()
    rating = await session.get(Rating, new_id)
    assert rating is not None
    return rating


async def chat_rating(
    session: Any, user: Any, conversation_id: uuid.UUID
) -> tuple[ChatConversation, Rating | None]:
    """The signed-in customer's own (verified) conversation and their rating of it. A visitor's
    conversation, or anyone else's, is not found."""
    conv = await chat_repo.conversation(session, conversation_id)
    if conv is None or not conv.verified or conv.user_id != user.id:
        raise ConversationNotFound()
    row = await session.execute(
        select(Rating).where(Rating.conversation_id == conv.id, Rating.user_id == user.id)
    )
    return conv, row.scalar_one_or_none()


def can_rate_chat(conv: ChatConversation) -> bool:
    """Closed after an agent talked with the customer (a chat that became a ticket is rated as
    the ticket)."""
    return conv.status == "closed" and conv.agent_id is not None and conv.ticket_id is None


async def rate_chat(
    session: Any, user: Any, conversation_id: uuid.UUID, score: Any, comment: str | None = None
) -> Rating:
    """One rating per conversation and customer, only by its verified customer, only once it is
    closed."""
    value = _score(score)
    conv, existing = await chat_rating(session, user, conversation_id)
    if existing is not None or not can_rate_chat(conv):
        raise ChatRatingRefused()
    note = (comment or "").strip()[:MAX_COMMENT] or None
    result = await session.execute(
        insert(Rating)
        .values(conversation_id=conv.id, user_id=user.id, score=value, comment=note)
        .on_conflict_do_nothing(
            index_elements=["conversation_id", "user_id"],
            index_where=text("conversation_id IS NOT NULL"),
        )
        .returning(Rating.id)
    )
    new_id = result.scalar_one_or_none()
    if new_id is None:  # a second submission raced the first one
        raise ChatRatingRefused()
    rating = await session.get(Rating, new_id)
    assert rating is not None
    return rating
