"""A chat nobody can answer now becomes a ticket (signed-in customers: a ticket needs someone
to answer to); the ticket carries what the customer wrote (already masked)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.chat import repository as repo
from qianbao.support.tickets.service import NewTicket, open_ticket

if TYPE_CHECKING:
    from qianbao.support.chat.models import ChatConversation
    from qianbao.support.chat.service import Config

MAX_BODY = 10_000


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
