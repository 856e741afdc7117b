"""What the bot and the desk say, marked for translation; stored as a key and parameters so that
each side reads them in its own language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_date, format_time

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext

TEXTS: dict[str, str] = {
    "masked": N_(
        "For your safety we hid a code, PIN or card number in your message. Never share codes, "
        "PINs or card numbers with anyone — Qianbao staff will never ask for them."
    ),
    "bot_found": N_("These help articles may answer your question:"),
    "bot_none": N_(
        "I could not find a help article for this. Try other words, or talk to a person."
    ),
    "assigned": N_("You are now chatting with {name} (agent ID {agent_id})."),
    "queued": N_(
        "All our agents are busy right now. You are in the queue: expect a reply by {time}."
    ),
    "queued_nobody": N_(
        "No agent is at the desk this minute. You are in the queue: expect a reply by {time}."
    ),
    "after_hours": N_(
        "Our chat desk is closed now (open {opens}:00–{closes}:00, China time). We keep your "
        "question: expect a reply by {time}."
    ),
    "ticket": N_(
        "We turned this chat into ticket {reference}. Expect a reply by {time}; follow it "
        "under Support tickets."
    ),
    "closed": N_("This conversation is closed. Thank you for contacting Qianbao."),
    "callback_booked": N_(
        "Call-back booked: we will call {phone} on {time}–{end} (China time). The agent will "
        "have this conversation in front of them."
    ),
    "transferred": N_(
        "{name} (agent ID {agent_id}) is taking over this conversation and can see everything "
        "written so far."
    ),
    "agent_gone": N_(
        "Your agent lost the connection. The next free agent will continue here, with this "
        "conversation in front of them."
    ),
}
AGENT = N_("Agent")


def when(value: str | datetime, locale: str) -> str:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = at.astimezone(LOCAL_TZ)
    day = format_date(local, "medium", locale=locale)
    return f"{day} {format_time(local, 'short', locale=locale)}"


def say(key: str, params: dict[str, Any], locale: str) -> str:
    values = dict(params)
    if "time" in values:
        values["time"] = when(values["time"], locale)
    return gettext(locale, TEXTS[key], **values)
