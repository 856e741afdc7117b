"""CSAT (E10): after a ticket is resolved (or closed), its customer rates the help 1-5 with an
optional comment, once. Other people's tickets are simply not found."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from qianbao.support.console.errors import RatingInvalid, RatingRefused
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
