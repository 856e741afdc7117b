"""A chat nobody can answer now becomes a ticket (signed-in customers: a ticket needs someone
to answer to); the ticket carries what the customer wrote (already masked)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.chat import repository as repo
from qianbao.support.tickets.service import NewTicket, add_message, open_ticket

if TYPE_CHECKING:
    from qianbao.support.chat.models import ChatConversation
    from qianbao.support.chat.service import Config

MAX_BODY = 10_000


async def _callback_ticket(s: Any, conv: ChatConversation) -> Any:
    """The ticket of a call-back still open that was booked from this conversation, if any."""
    from sqlalchemy import select

    from qianbao.support.channels.models import CallbackRequest
    from qianbao.support.tickets import repository as ticket_repo

    found = (
        await s.execute(
            select(CallbackRequest.id).where(
                CallbackRequest.conversation_id == conv.id, CallbackRequest.status == "new"
            )
        )
    ).scalar_one_or_none()
    if found is None:
        return None
    tickets = await ticket_repo.by_callbacks(s, [str(found)])
    return tickets[0] if tickets else None


async def open_from_chat(
    s: Any, cfg: Config, conv: ChatConversation, *, due: datetime | None = None
) -> tuple[str, datetime] | None:
    """The new ticket's reference and first-response time, or None (visitors: the queue).
    ``due``: the reply time the desk calendar promises (after hours), instead of the SLA's."""
    if conv.user_id is None or cfg.settings is None:
        return None
    user = await repo.user(s, conv.user_id)
    if user is None:
        return None
    said = [
        m.body
        for m in await repo.messages_since(s, conv.id, 0, limit=200)
        if m.sender == "customer" and m.body
    ]
    if not said:
        return None
    body = "\n\n".join(said)[:MAX_BODY]
    booked = await _callback_ticket(s, conv)
    if booked is not None:
        # A call-back was booked from this chat: one question, one ticket — the chat joins it.
        await add_message(s, booked, author_kind="customer", author_id=user.id, body=body,
                          via="chat", now=cfg.now())  # fmt: skip
        conv.ticket_id = booked.id
        if due is not None and booked.first_response_due > due:
            booked.first_response_due = due
        await s.flush()
        return booked.reference, booked.first_response_due
    first = " ".join(said[0].split())
    # The customer's own language: they read the ticket's title in their list.
    shown = first[:60] + "…" if len(first) > 60 else first
    locale = user.locale or cfg.settings.i18n.default_locale
    subject = gettext(locale, N_("Live chat: {text}"), text=shown)
    ticket = await open_ticket(
        s,
        cfg.settings,
        new=NewTicket(category="other", subject=subject, body=body),
        user_id=user.id,
        requester_email=user.email if user.email and user.email_verified_at else None,
        channel="chat",
        uploads=[],
        now=cfg.now(),
    )
    conv.ticket_id = ticket.id
    if due is not None:
        ticket.first_response_due = due
        await s.flush()
    return ticket.reference, ticket.first_response_due
