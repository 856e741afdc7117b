"""Call-back requests as tickets (E4): each request of ``support.channels.callbacks`` opens a
ticket in the same transaction (channel ``callback``; the category follows the topic — fraud is
"security" with priority high, like a security ticket opened on the pages, the rest normal; the
request's id, topic and time window in the intake fields, the customer's note as the first
message). Marking the request done adds an internal note to that ticket: the call counts as
the first response and a new ticket becomes open.

The ticket is found from the request by ``intake["callback"]`` (the request's id): no column
links the two tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.tickets import repository as repo
from qianbao.support.tickets.models import Ticket
from qianbao.support.tickets.service import (
    NewTicket,
    add_message,
    apply_status,
    open_ticket,
    record,
)

CHANNEL = "callback"
# The call-back topics of support.channels.callbacks.TOPICS, as ticket categories.
TOPIC_CATEGORY = {
    "account": "account",
    "topup": "topup",
    "withdrawal": "withdrawal",
    "payment": "payment",
    "fraud": "security",
    "other": "other",
}
DONE_NOTE = "Call-back done: the customer was called. / 已回电：已致电客户。"


async def open_for_callback(
    s: Any,
    settings: Any,
    *,
    callback_id: uuid.UUID,
    user_id: uuid.UUID,
    subject: str,
    topic: str,
    window: str,
    note: str = "",
    locale: str = "zh_CN",
    now: datetime | None = None,
) -> Ticket:
    """The ticket of a new call-back request; replies go to the user's verified e-mail address
    (if any), as for a ticket opened on the pages."""
    user = await repo.user(s, user_id)
    email = user.email if user is not None and user.email and user.email_verified_at else None
    body = note.strip()[: settings.tickets.max_body_chars] or gettext(
        locale, N_("Please call me back.")
    )
    category = TOPIC_CATEGORY.get(topic, "other")
    new = NewTicket(
        category=category,
        subject=subject,
        body=body,
        intake={"callback": str(callback_id), "topic": topic, "window": window},
        priority="high" if category == "security" else "normal",
    )
    return await open_ticket(
        s, settings, new=new, user_id=user_id, requester_email=email, channel=CHANNEL,
        uploads=[], now=now,
    )  # fmt: skip


async def tickets_of(s: Any, callback_ids: list[uuid.UUID]) -> dict[uuid.UUID, Ticket]:
    """The ticket of each call-back request that has one, by request id."""
    found = await repo.by_callbacks(s, [str(i) for i in callback_ids])
    return {uuid.UUID(t.intake["callback"]): t for t in found}


async def callback_done(
    s: Any,
    settings: Any,
    *,
    callback_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime | None = None,
) -> Ticket | None:
    """The agent called the customer: an internal note on the request's ticket (or the ticket
    it was merged into); the call is the first response. None for a request without a ticket
    (made before call-backs became tickets)."""
    ticket = (await tickets_of(s, [callback_id])).get(callback_id)
    for _ in range(10):
        if ticket is None or ticket.merged_into is None:
            break
        ticket = await repo.by_id(s, ticket.merged_into)
    if ticket is None:
        return None
    at = now or clock_of(s).now()
    await add_message(
        s, ticket, author_kind="agent", author_id=actor_id, body=DONE_NOTE, internal=True,
        via=CHANNEL, now=at,
    )  # fmt: skip
    if ticket.first_responded_at is None:
        ticket.first_responded_at = at
    if ticket.status == "new":
        apply_status(ticket, "open", settings, at)
    await record(s, ticket, "callback_done", actor_id, callback=str(callback_id))
    await s.flush()
    return ticket
