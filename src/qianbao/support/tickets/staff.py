"""Staff actions on tickets (support agents, supervisors, admins; the edge checks the role and
two-step verification): read (audited), reply, internal notes, assign, status, priority, merge,
queues and canned replies. Every read and every action goes to the ticket's audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from qianbao.identity.models import STAFF_ROLES
from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.support import reply_notice
from qianbao.support.console import audit as audit_log
from qianbao.support.tickets import attachments as att
from qianbao.support.tickets import mail_out
from qianbao.support.tickets import repository as repo
from qianbao.support.tickets.errors import (
    MergeRefused,
    NoEmailAddress,
    StaffOnly,
    StatusChangeRefused,
    TicketInvalid,
    TicketNotFound,
)
from qianbao.support.tickets.models import PRIORITIES, STATUSES, CannedReply, Ticket, TicketMessage
from qianbao.support.tickets.service import (
    add_message,
    any_ticket,
    apply_status,
    check_uploads,
    clean_body,
    recompute_sla,
)
from qianbao.support.tickets.service import record as record_event

QUEUES = ("mine", "unassigned", "breaching", "all")
SETTABLE = ("open", "waiting", "resolved", "closed")
DEFAULT_CANNED = (
    (
        "问候 · Greeting",
        "您好，感谢您联系钱包客服。我们已收到您的问题，正在处理。",
        "Hello, thank you for contacting Qianbao. We have your question and are on it.",
    ),
    (
        "要交易单号 · Need transaction number",
        "为了尽快帮您查询，请提供交易单号（在“交易记录”中可以找到）。",
        "To look into this quickly, please send us the transaction number (see your history).",
    ),
    (
        "已解决 · Resolved",
        "问题已处理完毕。如还有疑问，直接回复即可。",
        "This is sorted out. If anything is still unclear, just reply.",
    ),
)


def _now(s: Any, now: datetime | None) -> datetime:
    return now or clock_of(s).now()


async def record(
    s: Any, ticket: Ticket, action: str, actor: uuid.UUID | None, **detail: Any
) -> None:
    """A staff read or action: in the ticket's own trail and in the console's audit log (E9)."""
    await record_event(s, ticket, action, actor, **detail)
    if actor is not None:
        await audit_log.record(
            s,
            actor,
            f"ticket.{action}",
            subject_user_id=ticket.user_id,
            obj=("ticket", ticket.reference),
            details=detail,
        )


def require_staff(user: Any) -> None:
    if user.role not in STAFF_ROLES:
        raise StaffOnly()


async def view(s: Any, agent: Any, reference: str) -> Ticket:
    """A ticket for staff; the read is recorded."""
    require_staff(agent)
    ticket = await any_ticket(s, reference)
    await record(s, ticket, "viewed", agent.id)
    await s.flush()
    return ticket


async def reply(
    s: Any,
    settings: Any,
    agent: Any,
    ticket: Ticket,
    body: str,
    uploads: list[att.Upload] = (),  # type: ignore[assignment]
    *,
    internal: bool = False,
    status: str | None = None,
    now: datetime | None = None,
) -> TicketMessage:
    """An answer to the customer (e-mailed when the ticket has an address), or an internal
    note that customers never see. A public answer waits for the customer by default."""
    require_staff(agent)
    body = clean_body(body, settings)
    files = check_uploads(settings, list(uploads))
    if status is not None and status not in SETTABLE:
        raise TicketInvalid(problem=N_("unknown status."))
    at = _now(s, now)
    if ticket.status == "closed" and not internal:
        raise StatusChangeRefused(old=ticket.status, new="open")
    msg = await add_message(
        s, ticket, author_kind="agent", author_id=agent.id, body=body,
        internal=internal, uploads=files, now=at,
    )  # fmt: skip
    if internal:
        await record(s, ticket, "note_added", agent.id)
        await s.flush()
        return msg
    if ticket.first_responded_at is None:
        ticket.first_responded_at = at
    if ticket.requester_email:
        earlier = await repo.mail_ids(s, ticket.id)
        msg.message_id = mail_out.mail_id_for(settings, msg)
        msg.in_reply_to = earlier[-1] if earlier else None
        await mail_out.request_reply(s, msg)
    apply_status(ticket, status or "waiting", settings, at)
    await record(s, ticket, "replied", agent.id, status=ticket.status,
                 emailed=bool(ticket.requester_email))  # fmt: skip
    await reply_notice.ticket_replied(
        s, settings, ticket, msg, agent, emailed=bool(ticket.requester_email)
    )
    await s.flush()
    return msg


async def assign(s: Any, agent: Any, ticket: Ticket, assignee_id: str | None) -> None:
    require_staff(agent)
    new: uuid.UUID | None = None
    if assignee_id:
        try:
            new = uuid.UUID(assignee_id)
        except ValueError:
            raise TicketInvalid(problem=N_("choose a staff member.")) from None
        person = await repo.user(s, new)
        if person is None or person.role not in STAFF_ROLES:
            raise TicketInvalid(problem=N_("choose a staff member."))
    old = ticket.assignee_id
    ticket.assignee_id = new
    ticket.updated_at = clock_of(s).now()
    await record(s, ticket, "assigned", agent.id, old=str(old) if old else None,
                 new=str(new) if new else None)  # fmt: skip
    await s.flush()


async def set_status(
    s: Any, settings: Any, agent: Any, ticket: Ticket, status: str, *, now: datetime | None = None
) -> None:
    require_staff(agent)
    if status not in STATUSES:
        raise TicketInvalid(problem=N_("unknown status."))
    if (status == "new" and ticket.status != "new") or (
        ticket.status == "closed" and status != "closed"
    ):
        raise StatusChangeRefused(old=ticket.status, new=status)
    old = ticket.status
    apply_status(ticket, status, settings, _now(s, now))
    await record(s, ticket, "status", agent.id, old=old, new=status)
    await s.flush()


async def set_priority(s: Any, settings: Any, agent: Any, ticket: Ticket, priority: str) -> None:
    require_staff(agent)
    if priority not in PRIORITIES:
        raise TicketInvalid(problem=N_("unknown priority."))
    old = ticket.priority
    ticket.priority = priority
    recompute_sla(ticket, settings)
    ticket.updated_at = clock_of(s).now()
    await record(s, ticket, "priority", agent.id, old=old, new=priority)
    await s.flush()


async def merge(s: Any, settings: Any, agent: Any, source: Ticket, target_ref: str) -> Ticket:
    """Move every message of ``source`` into the ticket ``target_ref``; ``source`` is closed
    with a pointer to the target. Both must belong to the same requester."""
    require_staff(agent)
    try:
        target = await any_ticket(s, target_ref.strip())
    except TicketNotFound:
        raise MergeRefused(problem=N_("there is no ticket with this reference.")) from None
    if target.id == source.id:
        raise MergeRefused(problem=N_("a ticket cannot be merged into itself."))
    if target.status == "closed" or source.merged_into is not None:
        raise MergeRefused(problem=N_("closed or merged tickets cannot take part."))
    same = (source.user_id and source.user_id == target.user_id) or (
        source.requester_email
        and (source.requester_email or "").lower() == (target.requester_email or "").lower()
    )
    if not same:
        raise MergeRefused(problem=N_("the tickets belong to different customers."))
    moved = await repo.move_messages(s, source.id, target.id)
    now = clock_of(s).now()
    source.merged_into = target.id
    apply_status(source, "closed", settings, now)
    await add_message(
        s, source, author_kind="system",
        body=f"Merged into {target.reference} / 已合并到 {target.reference}", now=now,
    )  # fmt: skip
    if target.status in ("waiting", "resolved"):
        apply_status(target, "open", settings, now)
    target.updated_at = now
    await record(s, source, "merged_into", agent.id, target=target.reference, messages=moved)
    await record(s, target, "merged_from", agent.id, source=source.reference, messages=moved)
    await s.flush()
    return target


async def queue(s: Any, agent: Any, name: str, *, now: datetime | None = None) -> list[Ticket]:
    """mine / unassigned / breaching (overdue or due within the hour, clock running) / all."""
    require_staff(agent)
    if name == "mine":
        return await repo.queue(s, assignee=agent.id, unassigned=False, breaching_before=None)
    if name == "unassigned":
        return await repo.queue(s, assignee=None, unassigned=True, breaching_before=None)
    if name == "breaching":
        soon = _now(s, now) + timedelta(hours=1)
        return await repo.queue(s, assignee=None, unassigned=False, breaching_before=soon)
    return await repo.queue(s, assignee=None, unassigned=False, breaching_before=None)


def breaching(ticket: Ticket, now: datetime) -> bool:
    if ticket.status not in ("new", "open"):
        return False
    return (ticket.first_responded_at is None and ticket.first_response_due <= now) or (
        ticket.resolution_due <= now
    )


async def canned(s: Any) -> list[CannedReply]:
    if await repo.canned_count(s) == 0:
        for title, zh, en in DEFAULT_CANNED:
            s.add(CannedReply(title=title, body_zh=zh, body_en=en))
        await s.flush()
    return await repo.canned(s)


async def canned_text(s: Any, canned_id: str, locale: str) -> str:
    try:
        found = await repo.canned_by_id(s, int(canned_id))
    except ValueError:
        found = None
    if found is None:
        raise TicketInvalid(problem=N_("unknown canned reply."))
    return found.body(locale)


async def add_canned(s: Any, agent: Any, *, title: str, body_zh: str, body_en: str) -> CannedReply:
    require_staff(agent)
    title = " ".join(title.split())[:100]
    if not title or not body_zh.strip() or not body_en.strip():
        raise TicketInvalid(problem=N_("a canned reply needs a title and both languages."))
    if any(c.title == title for c in await repo.canned(s)):
        raise TicketInvalid(problem=N_("a canned reply with this title exists."))
    reply_ = CannedReply(title=title, body_zh=body_zh.strip()[:5000],
                         body_en=body_en.strip()[:5000], created_by=agent.id)  # fmt: skip
    s.add(reply_)
    await s.flush()
    return reply_


async def staff_members(s: Any) -> list[Any]:
    return await repo.staff(s, STAFF_ROLES)


async def audit(s: Any, ticket: Ticket) -> list[Any]:
    return await repo.events(s, ticket.id)


async def email_transcript(s: Any, user: Any, ticket: Ticket, locale: str) -> str:
    """Send the user their transcript at their verified address; returns the address."""
    if ticket.user_id != user.id:
        raise TicketNotFound()
    if not user.email or not user.email_verified_at:
        raise NoEmailAddress()
    await mail_out.request_transcript(s, ticket, user.email, locale)
    await record(s, ticket, "transcript_emailed", user.id)
    await s.flush()
    return str(user.email)


async def requester(s: Any, ticket: Ticket) -> Any:
    """The customer's account, when the ticket has one."""
    return await repo.user(s, ticket.user_id) if ticket.user_id else None


async def linked_transaction(s: Any, ticket: Ticket) -> Any:
    """The customer's transaction the ticket is about (shown by its reference, as the customer
    reads it out), or None."""
    from qianbao.wallet import history
    from qianbao.wallet.errors import TransactionNotFound

    if ticket.transaction_id is None or ticket.user_id is None:
        return None
    try:
        return await history.get_transaction(s, ticket.user_id, str(ticket.transaction_id))
    except TransactionNotFound:
        return None
