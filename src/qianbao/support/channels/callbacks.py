"""Call-back requests (E4): a signed-in user asks to be called on the account's number, at a
time and about a topic; staff see the open ones and mark them done.

Each request opens a ticket in the same transaction (``support.tickets.callbacks``: category
"other", channel ``callback``, the topic and time window in its intake fields, the note as the
first message); "done" adds an internal note to that ticket.
"""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import plain_text
from qianbao.kernel.translations import LOCALES, gettext
from qianbao.support.channels import hours
from qianbao.support.channels import repository as repo
from qianbao.support.channels.errors import CallbackInvalid, CallbackNotFound, CallbackOpen
from qianbao.support.channels.models import CallbackRequest
from qianbao.support.tickets import callbacks as ticket_callbacks
from qianbao.support.tickets.models import Ticket

TOPICS = {
    "account": N_("My account or sign-in"),
    "topup": N_("A top-up"),
    "withdrawal": N_("A withdrawal"),
    "payment": N_("A payment or transfer"),
    "fraud": N_("Fraud or a payment I did not make"),
    "other": N_("Something else"),
}
MAX_NOTE = 500


async def open_request(s: Any, user_id: uuid.UUID) -> CallbackRequest | None:
    return await repo.open_callback(s, user_id)


async def request(
    s: Any,
    settings: Any,
    *,
    user_id: uuid.UUID,
    phone: str,
    window: str,
    topic: str,
    note: str = "",
    locale: str = "zh_CN",
) -> CallbackRequest:
    """A new request on the account's own number, with its ticket. One open request per
    user. ``settings`` is the whole ``Settings`` (the ticket's SLA needs more than support)."""
    if window not in hours.windows(hours.hours_of(settings)) or topic not in TOPICS:
        raise CallbackInvalid()
    locale = locale if locale in LOCALES else "zh_CN"
    created = await repo.insert_callback(
        s,
        {
            "user_id": user_id,
            "phone": phone,
            "time_window": window,
            "topic": topic,
            "note": " ".join(plain_text(note).split())[:MAX_NOTE],
            "locale": locale,
            "status": "new",
        },
    )
    if created is None:
        raise CallbackOpen()
    subject = gettext(
        locale,
        N_("Call-back request: {topic}, {window}"),
        topic=gettext(locale, TOPICS[topic]),
        window=hours.window_label(window, locale),
    )
    await ticket_callbacks.open_for_callback(
        s, settings, callback_id=created.id, user_id=user_id, subject=subject, topic=topic,
        window=window, note=created.note, locale=locale,
    )  # fmt: skip
    return created


async def tickets_of(s: Any, requests: list[CallbackRequest]) -> dict[uuid.UUID, Ticket]:
    """The ticket of each request (requests made before call-backs became tickets have none)."""
    return await ticket_callbacks.tickets_of(s, [r.id for r in requests])


async def listing(s: Any, status: str = "new", limit: int = 200) -> list[CallbackRequest]:
    """Open requests, oldest first; or ("done") the latest finished ones."""
    return await repo.callbacks(s, "done" if status == "done" else "new", limit)


async def mark_done(
    s: Any, settings: Any, callback_id: uuid.UUID | str, *, actor: uuid.UUID
) -> CallbackRequest:
    """Done: the request leaves the list and its ticket gets an internal note (once)."""
    try:
        ident = callback_id if isinstance(callback_id, uuid.UUID) else uuid.UUID(str(callback_id))
    except ValueError:
        raise CallbackNotFound() from None
    found = await repo.callback(s, ident)
    if found is None:
        raise CallbackNotFound()
    if found.status == "new":
        found.status, found.done_at, found.done_by = "done", clock_of(s).now(), actor
        await s.flush()
        await ticket_callbacks.callback_done(
            s, settings, callback_id=found.id, actor_id=actor, now=found.done_at
        )
    return found
