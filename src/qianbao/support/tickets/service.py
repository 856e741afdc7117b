"""Ticket use cases for customers and the shared steps (E5, E6): create, read one's own tickets,
reply, and the SLA clock. Staff actions live in ``staff.py``; e-mail in ``mail_in`` /
``mail_out``.

Every object is looked up together with its owner: another user's ticket is simply not found.
Services ``flush()``; the edge commits (one request, one transaction)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import plain_text
from qianbao.support.reply_notice import signature
from qianbao.support.tickets import attachments as att
from qianbao.support.tickets import intake
from qianbao.support.tickets import repository as repo
from qianbao.support.tickets.errors import TicketClosed, TicketInvalid, TicketNotFound
from qianbao.support.tickets.models import (
    PRIORITIES,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)
from qianbao.support.tickets.sla import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
)
from qianbao.wallet.history import get_transaction

MAX_SUBJECT = 200


def _now(s: Any, now: datetime | None) -> datetime:
    return now or clock_of(s).now()


@dataclass
class NewTicket:
    category: str
    subject: str
    body: str
    intake: dict[str, str] = field(default_factory=dict)
    transaction_id: str | None = None
    priority: str = "normal"


@dataclass(frozen=True)
class ThreadItem:
    message: TicketMessage
    attachments: list[TicketAttachment]
    author: Any = None  # an agent's answer: reply_notice.Signature (name, public agent id)


async def new_reference(s: Any, now: datetime) -> str:
    day = now.astimezone(LOCAL_TZ).strftime("%Y%m%d")
    while True:
        ref = f"T{day}-{secrets.randbelow(900_000) + 100_000}"
        if not await repo.reference_taken(s, ref):
            return ref


def clean_body(body: str, settings: Any) -> str:
    body = plain_text(body)
    if not body:
        raise TicketInvalid(problem=N_("write a message."))
    if len(body) > settings.tickets.max_body_chars:
        raise TicketInvalid(problem=N_("the message is too long."))
    return body


def clean_subject(subject: str) -> str:
    subject = " ".join(plain_text(subject).split())
    if not subject:
        raise TicketInvalid(problem=N_("write a subject."))
    return subject[:MAX_SUBJECT]


def check_uploads(settings: Any, uploads: list[att.Upload]) -> list[att.CheckedUpload]:
    return att.check(
        uploads,
        max_bytes=settings.tickets.max_attachment_bytes,
        max_count=settings.tickets.max_attachments,
    )


def recompute_sla(ticket: Ticket, settings: Any) -> None:
    """Due times = creation + target + business hours spent waiting for the customer."""
    cal = BusinessCalendar.from_settings(settings)
    t = settings.tickets
    extra = ticket.paused_hours or 0.0
    ticket.first_response_due = add_business_hours(
        ticket.created_at, t.first_response_hours[ticket.priority] + extra, cal
    )
    ticket.resolution_due = add_business_hours(
        ticket.created_at, t.resolution_hours[ticket.priority] + extra, cal
    )


def apply_status(ticket: Ticket, status: str, settings: Any, now: datetime) -> None:
    """Change the status, pausing the SLA clock while waiting for the customer."""
    old = ticket.status
    if old == status:
        return
    if old == "waiting" and ticket.paused_at is not None:
        cal = BusinessCalendar.from_settings(settings)
        ticket.paused_hours = (ticket.paused_hours or 0.0) + business_hours_between(
            ticket.paused_at, now, cal
        )
        ticket.paused_at = None
        recompute_sla(ticket, settings)
    if status == "waiting":
        ticket.paused_at = now
    if status == "resolved":
        ticket.resolved_at = now
    elif status in ("new", "open", "waiting"):
        ticket.resolved_at = None
    ticket.status = status
    ticket.updated_at = now


async def record(
    s: Any, ticket: Ticket, action: str, actor: uuid.UUID | None, **detail: Any
) -> None:
    s.add(TicketEvent(ticket_id=ticket.id, actor_id=actor, action=action, detail=detail))


async def add_message(
    s: Any,
    ticket: Ticket,
    *,
    author_kind: str,
    body: str,
    author_id: uuid.UUID | None = None,
    author_email: str | None = None,
    internal: bool = False,
    via: str = "web",
    uploads: list[att.CheckedUpload] = (),  # type: ignore[assignment]
    message_id: str | None = None,
    in_reply_to: str | None = None,
    now: datetime | None = None,
) -> TicketMessage:
    msg = TicketMessage(
        ticket_id=ticket.id,
        author_kind=author_kind,
        author_id=author_id,
        author_email=author_email,
        body=body,
        internal=internal,
        via=via,
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    if now is not None:
        msg.created_at = now
    s.add(msg)
    await s.flush()
    for u in uploads:
        s.add(
            TicketAttachment(
                ticket_id=ticket.id,
                message_id=msg.id,
                filename=u.filename,
                content_type=u.content_type,
                size=len(u.data),
                data=u.data,
            )
        )
    ticket.updated_at = _now(s, now)
    await s.flush()
    return msg


async def open_ticket(
    s: Any,
    settings: Any,
    *,
    new: NewTicket,
    user_id: uuid.UUID | None,
    requester_email: str | None,
    channel: str,
    uploads: list[att.CheckedUpload],
    message_id: str | None = None,
    in_reply_to: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Store a new ticket with its first message (inputs already checked)."""
    at = _now(s, now)
    if new.priority not in PRIORITIES:
        raise TicketInvalid(problem=N_("unknown priority."))
    ticket = Ticket(
        reference=await new_reference(s, at),
        user_id=user_id,
        requester_email=requester_email,
        subject=clean_subject(new.subject),
        category=new.category,
        intake=new.intake,
        transaction_id=uuid.UUID(new.transaction_id) if new.transaction_id else None,
        status="new",
        priority=new.priority,
        channel=channel,
        created_at=at,
        updated_at=at,
        paused_hours=0.0,
    )
    recompute_sla(ticket, settings)
    s.add(ticket)
    await s.flush()
    await add_message(
        s,
        ticket,
        author_kind="customer",
        author_id=user_id,
        author_email=requester_email,
        body=new.body,
        via=channel,
        uploads=uploads,
        message_id=message_id,
        in_reply_to=in_reply_to,
        now=at,
    )
    await record(s, ticket, "created", user_id, channel=channel)
    await s.flush()
    return ticket


async def create_for_user(
    s: Any,
    settings: Any,
    user: Any,
    new: NewTicket,
    uploads: list[att.Upload] = (),  # type: ignore[assignment]
    *,
    channel: str = "web",
    now: datetime | None = None,
) -> Ticket:
    """A signed-in user opens a ticket. Everything is checked before anything is stored."""
    new.intake = intake.validate(new.category, new.intake)
    new.body = clean_body(new.body, settings)
    new.subject = clean_subject(new.subject)
    new.priority = "high" if new.category == "security" else "normal"
    if new.transaction_id:
        tx = await get_transaction(s, user.id, new.transaction_id)  # someone else's: not found
        new.transaction_id = str(tx.id)
    checked = check_uploads(settings, list(uploads))
    email = user.email if user.email and user.email_verified_at else None
    return await open_ticket(
        s,
        settings,
        new=new,
        user_id=user.id,
        requester_email=email,
        channel=channel,
        uploads=checked,
        now=now,
    )


async def my_tickets(s: Any, user_id: uuid.UUID) -> list[Ticket]:
    return await repo.of_user(s, user_id)


async def my_ticket(s: Any, user_id: uuid.UUID, reference: str) -> Ticket:
    ticket = await repo.by_reference(s, (reference or "")[:20])
    if ticket is None or ticket.user_id != user_id:
        raise TicketNotFound()
    return ticket


async def any_ticket(s: Any, reference: str) -> Ticket:
    ticket = await repo.by_reference(s, (reference or "")[:20])
    if ticket is None:
        raise TicketNotFound()
    return ticket


async def thread(s: Any, ticket: Ticket, *, internal: bool) -> list[ThreadItem]:
    """The messages in order; internal notes only for staff (``internal=True``)."""
    msgs = await repo.messages(s, ticket.id, internal=internal)
    files: dict[uuid.UUID, list[TicketAttachment]] = {}
    for a in await repo.attachments_of(s, [m.id for m in msgs]):
        files.setdefault(a.message_id, []).append(a)
    signs: dict[uuid.UUID, Any] = {}
    for m in msgs:
        if m.author_kind == "agent" and m.author_id is not None and m.author_id not in signs:
            staff = await repo.user(s, m.author_id)
            signs[m.author_id] = await signature(s, staff, "") if staff is not None else None
    return [
        ThreadItem(
            m,
            files.get(m.id, []),
            signs.get(m.author_id) if m.author_kind == "agent" and m.author_id else None,
        )
        for m in msgs
    ]


async def attachment_of(
    s: Any, ticket: Ticket, attachment_id: str, *, internal: bool
) -> TicketAttachment:
    """An attachment of this ticket; one on an internal note only for staff."""
    try:
        ident = uuid.UUID(attachment_id)
    except ValueError:
        raise TicketNotFound() from None
    found = await repo.attachment(s, ticket.id, ident)
    if found is None:
        raise TicketNotFound()
    if not internal:
        msg = await repo.message(s, found.message_id)
        if msg is None or msg.internal:
            raise TicketNotFound()
    return found


async def customer_reply(
    s: Any,
    settings: Any,
    user_id: uuid.UUID | None,
    ticket: Ticket,
    body: str,
    uploads: list[att.Upload] = (),  # type: ignore[assignment]
    *,
    via: str = "web",
    author_email: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    checked: list[att.CheckedUpload] | None = None,
    now: datetime | None = None,
) -> TicketMessage:
    """The customer answers: a waiting or resolved ticket opens again (the SLA clock runs)."""
    if ticket.status == "closed":
        raise TicketClosed()
    body = clean_body(body, settings)
    files = checked if checked is not None else check_uploads(settings, list(uploads))
    at = _now(s, now)
    msg = await add_message(
        s,
        ticket,
        author_kind="customer",
        author_id=user_id,
        author_email=author_email,
        body=body,
        via=via,
        uploads=files,
        message_id=message_id,
        in_reply_to=in_reply_to,
        now=at,
    )
    if ticket.status in ("waiting", "resolved"):
        apply_status(ticket, "open", settings, at)
    await record(s, ticket, "customer_replied", user_id, via=via)
    await s.flush()
    return msg


async def merged_target(s: Any, ticket: Ticket) -> str | None:
    """The reference of the ticket this one was merged into, if any."""
    if ticket.merged_into is None:
        return None
    target = await repo.by_id(s, ticket.merged_into)
    return target.reference if target else None
