"""Call-back requests (E4): a signed-in user asks to be called on the account's number, at a
time and about a topic; staff see the open ones and mark them done.

Tickets (E5) will take these over: once the ticket desk exists each request becomes a ticket
(the request's id, user, topic and note carry over) and "done" becomes the ticket's resolution.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from qianbao.kernel.i18n import N_
from qianbao.settings import SupportSettings
from qianbao.support.channels import hours
from qianbao.support.channels import repository as repo
from qianbao.support.channels.errors import CallbackInvalid, CallbackNotFound, CallbackOpen
from qianbao.support.channels.models import CallbackRequest

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
    cfg: SupportSettings,
    *,
    user_id: uuid.UUID,
    phone: str,
    window: str,
    topic: str,
    note: str = "",
    locale: str = "zh_CN",
) -> CallbackRequest:
    """A new request on the account's own number. One open request per user."""
    if window not in hours.windows(hours.hours_of(cfg)) or topic not in TOPICS:
        raise CallbackInvalid()
    created = await repo.insert_callback(
        s,
        {
            "user_id": user_id,
            "phone": phone,
            "time_window": window,
            "topic": topic,
            "note": " ".join(note.split())[:MAX_NOTE],
            "locale": locale if locale in ("zh_CN", "en") else "zh_CN",
            "status": "new",
        },
    )
    if created is None:
        raise CallbackOpen()
    return created


async def listing(s: Any, status: str = "new", limit: int = 200) -> list[CallbackRequest]:
    """Open requests, oldest first; or ("done") the latest finished ones."""
    return await repo.callbacks(s, "done" if status == "done" else "new", limit)


async def mark_done(s: Any, callback_id: uuid.UUID | str, *, actor: uuid.UUID) -> CallbackRequest:
    try:
        ident = callback_id if isinstance(callback_id, uuid.UUID) else uuid.UUID(str(callback_id))
    except ValueError:
        raise CallbackNotFound() from None
    found = await repo.callback(s, ident)
    if found is None:
        raise CallbackNotFound()
    if found.status == "new":
        found.status, found.done_at, found.done_by = "done", datetime.now(UTC), actor
        await s.flush()
    return found
