"""Call-back slots (E4) from the desk calendar: the next openings cut into slots of
``support.hours.callback_slot_minutes``, each taking ``callback_slot_capacity`` bookings. Booking
one (from the chat, after hours) creates the usual call-back request with the slot — its ticket
too when the customer is signed in; a visitor gives a number and gets a request without ticket.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from qianbao.identity.phones import normalize_phone
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import plain_text
from qianbao.kernel.translations import gettext
from qianbao.support.channels import hours
from qianbao.support.channels import repository as repo
from qianbao.support.channels.callbacks import MAX_NOTE, TOPICS
from qianbao.support.channels.errors import CallbackInvalid, CallbackOpen
from qianbao.support.channels.models import CallbackRequest
from qianbao.support.desk_calendar import DeskCalendar, from_settings
from qianbao.support.tickets import callbacks as ticket_callbacks

LEAD = timedelta(minutes=15)  # a slot starting sooner is not offered
LOOK_AHEAD_DAYS = 14


@dataclass(frozen=True)
class Slot:
    key: str  # '2026-12-20T08:00' (China time), the request's time window
    starts: datetime
    ends: datetime
    free: int


def _candidates(cal: DeskCalendar, now: datetime, minutes: int, limit: int) -> list[datetime]:
    step = timedelta(minutes=minutes)
    out: list[datetime] = []
    for start, end in cal.openings(now, LOOK_AHEAD_DAYS):
        # Slots start at the opening (of the day, for the period open now) and every step.
        local_start = start.astimezone(end.tzinfo)
        day_open = cal.span(local_start.date())
        anchor = local_start
        if day_open is not None:
            anchor = local_start.replace(hour=0, minute=0) + timedelta(minutes=day_open[0])
            if anchor > local_start:
                anchor = local_start
        at = anchor
        while at + step <= end and len(out) < limit:
            if at >= now + LEAD:
                out.append(at)
            at += step
        if len(out) >= limit:
            break
    return out


async def _booked(s: Any, starts: list[datetime]) -> dict[datetime, int]:
    if not starts:
        return {}
    rows = await s.execute(
        select(CallbackRequest.slot_at, func.count())
        .where(CallbackRequest.slot_at.in_(starts), CallbackRequest.status == "new")
        .group_by(CallbackRequest.slot_at)
    )
    return {at: int(n) for at, n in rows.all()}


async def free_slots(s: Any, settings: Any, now: datetime) -> list[Slot]:
    """The next slots with room, soonest first (``callback_slots_shown`` of them)."""
    cfg = settings.support.hours
    cal = from_settings(settings)
    starts = _candidates(cal, now, cfg.callback_slot_minutes, cfg.callback_slots_shown * 4)
    booked = await _booked(s, starts)
    step = timedelta(minutes=cfg.callback_slot_minutes)
    out = []
    for at in starts:
        free = cfg.callback_slot_capacity - booked.get(at, 0)
        if free > 0:
            out.append(Slot(hours.slot_key(at), at, at + step, free))
        if len(out) >= cfg.callback_slots_shown:
            break
    return out


async def open_of(
    s: Any, *, user_id: uuid.UUID | None, conversation_id: uuid.UUID | None
) -> CallbackRequest | None:
    """The open request of a signed-in user, or the one booked from this conversation."""
    if user_id is not None:
        return await repo.open_callback(s, user_id)
    if conversation_id is None:
        return None
    found = await s.execute(
        select(CallbackRequest).where(
            CallbackRequest.conversation_id == conversation_id, CallbackRequest.status == "new"
        )
    )
    return found.scalars().first()


async def book(
    s: Any,
    settings: Any,
    now: datetime,
    *,
    slot: str,
    user: Any | None,
    phone: str = "",
    note: str = "",
    topic: str = "other",
    conversation_id: uuid.UUID | None = None,
    locale: str = "zh_CN",
) -> tuple[CallbackRequest, Slot]:
    """Book a free slot: a signed-in customer on the account's number (one open request, with
    its ticket), a visitor on the number they give (one open request per number)."""
    if topic not in TOPICS:
        raise CallbackInvalid()
    # One booking at a time per slot, so its capacity holds under concurrency.
    await s.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"callback-slot:{slot}"}
    )
    chosen = next((x for x in await free_slots(s, settings, now) if x.key == slot), None)
    if chosen is None:
        raise CallbackInvalid()
    number = user.phone if user is not None else normalize_phone(phone)
    locale = locale if locale in ("zh_CN", "en") else "zh_CN"
    created = await repo.insert_callback(
        s,
        {
            "user_id": user.id if user is not None else None,
            "phone": number,
            "time_window": chosen.key,
            "slot_at": chosen.starts,
            "conversation_id": conversation_id,
            "topic": topic,
            "note": " ".join(plain_text(note).split())[:MAX_NOTE],
            "locale": locale,
            "status": "new",
        },
    )
    if created is None:
        raise CallbackOpen()
    if user is not None:
        subject = gettext(
            locale,
            N_("Call-back request: {topic}, {window}"),
            topic=gettext(locale, TOPICS[topic]),
            window=hours.window_label(chosen.key, locale),
        )
        await ticket_callbacks.open_for_callback(
            s, settings, callback_id=created.id, user_id=user.id, subject=subject, topic=topic,
            window=chosen.key, note=created.note, locale=locale, now=now,
        )  # fmt: skip
    return created, chosen
