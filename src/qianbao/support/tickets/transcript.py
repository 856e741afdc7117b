"""Transcripts (E7): a ticket's public conversation as plain text, in the reader's language.
Internal notes are never part of it."""

from __future__ import annotations

from typing import Any

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.tickets.models import Ticket
from qianbao.support.tickets.service import thread

AUTHORS = {"customer": N_("You"), "agent": N_("Qianbao customer service"), "system": N_("System")}


async def as_text(s: Any, ticket: Ticket, locale: str) -> str:
    lines = [
        gettext(locale, N_("Ticket {reference}: {subject}"), reference=ticket.reference,
                subject=ticket.subject),
        gettext(locale, N_("Opened {time} (China time)"),
                time=ticket.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")),
        "",
    ]  # fmt: skip
    for item in await thread(s, ticket, internal=False):
        m = item.message
        who = gettext(locale, AUTHORS.get(m.author_kind, m.author_kind))
        stamp = m.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        lines.append(f"--- {who} · {stamp}")
        lines.append(m.body)
        for a in item.attachments:
            lines.append(gettext(locale, N_("[attachment: {name}]"), name=a.filename))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
