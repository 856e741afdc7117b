"""Transcripts (E7) of a live chat: the conversation as plain text, in the reader's language, as
the customer saw it — texts masked as stored, the bot's articles with their help-center links,
agents by their name and public agent id. Nothing internal (no user ids, no read marks, no
verification flags), and images only as a mention."""

from __future__ import annotations

from typing import Any

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.chat import repository as repo
from qianbao.support.chat.models import ChatConversation
from qianbao.support.chat.views import Viewer

AUTHORS = {"customer": N_("You"), "bot": N_("Qianbao assistant"), "system": N_("System")}
MAX_MESSAGES = 5000


def stamp(value: Any) -> str:
    return str(value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"))


async def as_text(s: Any, conv: ChatConversation, locale: str, *, site: str = "") -> str:
    """``site`` (e.g. https://qianbao.example) makes the articles' links absolute."""
    viewer = Viewer(s, side="customer", locale=locale)
    lines = [
        gettext(locale, N_("Qianbao live chat, started {time} (China time)"),
                time=stamp(conv.created_at)),
        "",
    ]  # fmt: skip
    for m in await repo.messages_since(s, conv.id, 0, limit=MAX_MESSAGES):
        if m.sender == "agent":
            card = await viewer.agent(m.author_id)
            who = (
                gettext(locale, N_("{name} (agent ID {agent_id})"), **card)
                if card
                else gettext(locale, N_("Qianbao customer service"))
            )
        else:
            who = gettext(locale, AUTHORS.get(m.sender, m.sender))
        lines.append(f"--- {who} · {stamp(m.created_at)}")
        text = viewer.text(m)
        if text:
            lines.append(text)
        for a in (m.data or {}).get("articles", []):
            url = str(a.get("url", ""))
            if url.startswith("/help/"):
                lines.append(f"  • {a.get('title', '')} — {site.rstrip('/')}{url}")
        if m.attachment_id is not None:
            lines.append(gettext(locale, N_("[image]")))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def filename(conv: ChatConversation) -> str:
    return f"chat-{conv.created_at.astimezone(LOCAL_TZ):%Y%m%d-%H%M}.txt"
