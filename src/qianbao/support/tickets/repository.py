"""All SQL of the ticket desk."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from qianbao.identity.models import User
from qianbao.support.tickets.models import (
    CannedReply,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)

OPEN_STATUSES = ("new", "open", "waiting")


async def by_reference(s: Any, reference: str) -> Ticket | None:
    result = await s.execute(select(Ticket).where(Ticket.reference == reference))
    return result.scalar_one_or_none()


async def by_id(s: Any, ticket_id: uuid.UUID) -> Ticket | None:
    return await s.get(Ticket, ticket_id)


async def reference_taken(s: Any, reference: str) -> bool:
    return (await by_reference(s, reference)) is not None


async def of_user(s: Any, user_id: uuid.UUID) -> list[Ticket]:
    rows = await s.execute(
        select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.created_at.desc())
    )
    return list(rows.scalars())


async def queue(
    s: Any, *, assignee: uuid.UUID | None, unassigned: bool, breaching_before: datetime | None
) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
    if assignee is not None:
        stmt = stmt.where(Ticket.assignee_id == assignee)
    if unassigned:
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    if breaching_before is not None:
        stmt = stmt.where(
            Ticket.status != "waiting",
            or_(
                and_(
                    Ticket.first_responded_at.is_(None),
                    Ticket.first_response_due <= breaching_before,
                ),
                Ticket.resolution_due <= breaching_before,
            ),
        )
    rows = await s.execute(stmt.order_by(Ticket.resolution_due, Ticket.created_at).limit(200))
    return list(rows.scalars())


async def messages(s: Any, ticket_id: uuid.UUID, *, internal: bool) -> list[TicketMessage]:
    stmt = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    if not internal:
        stmt = stmt.where(TicketMessage.internal.is_(False))
    rows = await s.execute(stmt.order_by(TicketMessage.created_at, TicketMessage.id))
    return list(rows.scalars())


async def attachments_of(s: Any, message_ids: Sequence[uuid.UUID]) -> list[TicketAttachment]:
    if not message_ids:
        return []
    rows = await s.execute(
        select(TicketAttachment)
        .where(TicketAttachment.message_id.in_(message_ids))
        .order_by(TicketAttachment.created_at)
    )
    return list(rows.scalars())


async def attachment(
    s: Any, ticket_id: uuid.UUID, attachment_id: uuid.UUID
) -> TicketAttachment | None:
    rows = await s.execute(
        select(TicketAttachment).where(
            TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket_id
        )
    )
    return rows.scalar_one_or_none()


async def message_by_mail_id(s: Any, ids: Sequence[str]) -> TicketMessage | None:
    if not ids:
        return None
    rows = await s.execute(
        select(TicketMessage)
        .where(TicketMessage.message_id.in_(list(ids)))
        .order_by(TicketMessage.created_at.desc())
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def message(s: Any, message_id: uuid.UUID) -> TicketMessage | None:
    return await s.get(TicketMessage, message_id)


async def mail_ids(s: Any, ticket_id: uuid.UUID) -> list[str]:
    rows = await s.execute(
        select(TicketMessage.message_id)
        .where(TicketMessage.ticket_id == ticket_id, TicketMessage.message_id.is_not(None))
        .order_by(TicketMessage.created_at)
    )
    return [r for r in rows.scalars() if r]


async def by_callbacks(s: Any, callback_ids: Sequence[str]) -> list[Ticket]:
    """Tickets opened by call-back requests (``intake["callback"]`` holds the request id)."""
    if not callback_ids:
        return []
    rows = await s.execute(
        select(Ticket).where(
            Ticket.channel == "callback", Ticket.intake["callback"].astext.in_(list(callback_ids))
        )
    )
    return list(rows.scalars())


async def move_messages(s: Any, source: uuid.UUID, target: uuid.UUID) -> int:
    moved = await s.execute(
        update(TicketMessage).where(TicketMessage.ticket_id == source).values(ticket_id=target)
    )
    await s.execute(
        update(TicketAttachment)
        .where(TicketAttachment.ticket_id == source)
        .values(ticket_id=target)
    )
    return int(moved.rowcount or 0)


async def events(s: Any, ticket_id: uuid.UUID) -> list[TicketEvent]:
    rows = await s.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    )
    return list(rows.scalars())


async def canned(s: Any) -> list[CannedReply]:
    rows = await s.execute(select(CannedReply).order_by(CannedReply.title))
    return list(rows.scalars())


async def canned_count(s: Any) -> int:
    return int((await s.execute(select(func.count()).select_from(CannedReply))).scalar_one())


async def canned_by_id(s: Any, canned_id: int) -> CannedReply | None:
    return await s.get(CannedReply, canned_id)


async def user(s: Any, user_id: uuid.UUID) -> User | None:
    return await s.get(User, user_id)


async def user_by_verified_email(s: Any, address: str) -> User | None:
    rows = await s.execute(
        select(User).where(
            func.lower(User.email) == address.lower(), User.email_verified_at.is_not(None)
        )
    )
    return rows.scalar_one_or_none()


async def staff(s: Any, roles: Sequence[str]) -> list[User]:
    rows = await s.execute(
        select(User).where(User.role.in_(list(roles))).order_by(User.real_name, User.id)
    )
    return list(rows.scalars())
