"""What the chat says before "talk to a person" (the hours and the reply to expect) and what it
offers when nobody is there: a call-back slot from the desk calendar (the usual call-back
request, with the slot), or — by the hand-off — a ticket (signed in) or the queue (visitors),
each with the time the calendar and the rota allow. Also the customer's last ended
conversation, which the chat page keeps showing (read-only) after a reload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qianbao.identity.phones import mask_phone
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.channels import callback_slots
from qianbao.support.channels.hours import describe, window_label
from qianbao.support.chat import repository as repo
from qianbao.support.chat import staffing
from qianbao.support.chat.hours import relative_time
from qianbao.support.chat.models import ChatConversation
from qianbao.support.chat.service import Config, Customer, _open, current, system_message
from qianbao.support.desk_calendar import clock_text

NOTE_CHARS = 400


@dataclass(frozen=True)
class DeskNotice:
    staffed: bool
    hours: str  # '每天 08:00–22:00（北京时间）'
    reply_by: datetime
    line: str  # '人工客服 每天 08:00–22:00（北京时间）· 现在已下班，预计明天 08:30 前回复'


async def notice(s: Any, cfg: Config, locale: str) -> DeskNotice:
    desk = await staffing.state(s, cfg)
    hours = describe(cfg.hours, locale)
    if desk.calendar_open:
        status = gettext(
            locale, N_("open now: a reply within about {minutes} minutes"),
            minutes=cfg.queue_reply_minutes,
        )  # fmt: skip
    elif desk.staffed:
        status = gettext(
            locale, N_("night shift on duty: a reply within about {minutes} minutes"),
            minutes=cfg.queue_reply_minutes,
        )  # fmt: skip
    else:
        status = gettext(
            locale, N_("closed now: expect a reply by {time}"),
            time=relative_time(desk.reply_by, desk.now, locale),
        )  # fmt: skip
    line = gettext(locale, N_("Agents: {hours} · {status}"), hours=hours, status=status)
    return DeskNotice(desk.staffed, hours, desk.reply_by, line)


async def slots(s: Any, cfg: Config) -> list[callback_slots.Slot]:
    return await callback_slots.free_slots(s, cfg.settings, cfg.now())


def slot_label(slot: callback_slots.Slot, now: datetime, locale: str) -> str:
    end = slot.ends.astimezone(slot.starts.tzinfo)
    return f"{relative_time(slot.starts, now, locale)}–{end:%H:%M}"


async def booked(s: Any, who: Customer, locale: str) -> dict[str, str] | None:
    """The open call-back request of this customer (or booked from their open chat): when and
    on which number (masked)."""
    conv = await current(s, who)
    found = await callback_slots.open_of(
        s, user_id=who.user_id, conversation_id=conv.id if conv is not None else None
    )
    if found is None:
        return None
    return {"when": window_label(found.time_window, locale), "phone": mask_phone(found.phone)}


async def book_callback(
    s: Any, cfg: Config, who: Customer, user: Any | None, *, slot: str, phone: str = ""
) -> ChatConversation:
    """Book ``slot``; the chat (opened if need be) says when we will call. The customer's
    messages so far go with the request as its note (already masked)."""
    conv = await _open(s, cfg, who)
    said = [
        m.body
        for m in await repo.messages_since(s, conv.id, 0, limit=50)
        if m.sender == "customer" and m.body
    ]
    request, chosen = await callback_slots.book(
        s, cfg.settings, cfg.now(), slot=slot, user=user, phone=phone,
        note=" / ".join(said)[:NOTE_CHARS], conversation_id=conv.id, locale=conv.locale,
    )  # fmt: skip
    end = chosen.ends.astimezone(chosen.starts.tzinfo)
    await system_message(
        s, cfg, conv, "callback_booked", phone=mask_phone(request.phone),
        time=chosen.starts.isoformat(), end=clock_text(end.hour * 60 + end.minute),
    )  # fmt: skip
    return conv


async def last_ended(s: Any, who: Customer) -> ChatConversation | None:
    """The customer's (or visitor's) last closed conversation, however old."""
    if who.user_id is not None:
        return await repo.latest_closed_of_user(s, who.user_id)
    if who.visitor_hash is not None:
        return await repo.latest_closed_of_visitor(s, who.visitor_hash)
    return None
