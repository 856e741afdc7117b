"""Closing the loop (E1, E2): when an agent answers, the customer is told — in the app, and by SMS
or e-mail as they chose for customer service's answers (/inbox) — with the agent's name and
public agent id, the ones /verify confirms.

- Chat: a reply the customer has not read after ``chat.reply_notice_after_s`` (they left the
  page) is announced once per unread run: five quick answers make one notice, not five.
- Ticket: each public answer is announced at once; the ticket's own e-mail (to the address the
  ticket was opened with) already carries the text, so no second e-mail is sent for it.

Visitors and conversations from WeChat or Telegram get nothing here: they have no wallet to
notify, or the answer already went to their app."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from qianbao.kernel.i18n import N_
from qianbao.notifications import inbox, outbox_sealer, templates
from qianbao.support.channels.service import agent_id_for
from qianbao.worker import queue

CHAT_TEMPLATE = "support.chat_replied"
TICKET_TEMPLATE = "support.ticket_replied"
CHAT_TASK = "support.chat_reply_notice"

for _template in (
    templates.Template(
        CHAT_TEMPLATE,
        sms=N_(
            "Qianbao customer service: {agent} (agent ID {agent_id}) answered you in the chat. "
            "Open the Qianbao app to read it. We never ask for codes or passwords."
        ),
        subject=N_("{agent} from Qianbao customer service answered you"),
        body=N_(
            "{agent} (agent ID {agent_id}) answered your question in the Qianbao chat. Open "
            "Customer service → Live chat in the app to read the answer and continue.\n\nYou can "
            "check an agent ID at /verify. Qianbao staff never ask for codes, PINs or passwords."
        ),
        translate_params=("agent",),
    ),
    templates.Template(
        TICKET_TEMPLATE,
        sms=N_(
            "Qianbao customer service: {agent} (agent ID {agent_id}) answered your ticket "
            "{reference}. Open the Qianbao app to read it. We never ask for codes or passwords."
        ),
        subject=N_("Ticket {reference}: {agent} from Qianbao customer service answered you"),
        body=N_(
            "{agent} (agent ID {agent_id}) answered your ticket {reference}. Open Customer "
            "service → Support tickets in the app to read the answer and reply.\n\nYou can "
            "check an agent ID at /verify. Qianbao staff never ask for codes, PINs or passwords."
        ),
        translate_params=("agent",),
    ),
):
    templates.TEMPLATES.setdefault(_template.name, _template)


@dataclass(frozen=True)
class Signature:
    """How an answer is signed: the agent's display name and public agent id."""

    name: str
    agent_id: str

    def line(self) -> dict[str, str]:
        return {"agent": self.name, "agent_id": self.agent_id}


async def signature(s: Any, agent: Any, fallback: str) -> Signature:
    """``fallback`` (the word "Agent" in the reader's language) when staff has no name."""
    return Signature(agent.real_name or fallback, await agent_id_for(s, agent.id))


async def chat_replied(s: Any, settings: Any, conv: Any, msg: Any, now: Any) -> None:
    """Schedule the check "still unread?" for the first unread answer of this run."""
    if conv.user_id is None or getattr(conv, "channel", "web") != "web":
        return
    from qianbao.support.chat import repository as chat_repo

    first = await chat_repo.first_unread_agent_message(s, conv.id)
    anchor = first if first is not None else msg.id
    delay = timedelta(seconds=settings.chat.reply_notice_after_s)
    await queue.enqueue(
        s,
        CHAT_TASK,
        {"conversation": str(conv.id), "message": anchor},
        run_at=msg.created_at + delay,
        dedup_key=f"chat-reply:{conv.id}:{anchor}",
    )


async def send_chat_notice(s: Any, settings: Any, conversation_id: str, message_id: int) -> bool:
    """The job: tell the customer unless they read the answer meanwhile. True when told."""
    from qianbao.support.chat import repository as chat_repo
    from qianbao.support.chat.texts import AGENT

    msg = await chat_repo.message(s, uuid.UUID(conversation_id), message_id)
    if msg is None or msg.read_by_customer_at is not None or msg.author_id is None:
        return False
    conv = await chat_repo.conversation(s, msg.conversation_id)
    user = await chat_repo.user(s, conv.user_id) if conv and conv.user_id else None
    agent = await chat_repo.user(s, msg.author_id)
    if conv is None or user is None or agent is None:
        return False
    sign = await signature(s, agent, AGENT)
    params = sign.line()
    added = await inbox.add(
        s,
        user_id=user.id,
        template=CHAT_TEMPLATE,
        params=params,
        link="/chat",
        dedup_key=f"chat-reply:{conv.id}:{message_id}",
    )
    if added:
        await inbox.send_by_preference(
            s, user, CHAT_TEMPLATE, params, outbox_sealer(settings), about="support"
        )
    return added


async def ticket_replied(
    s: Any, settings: Any, ticket: Any, msg: Any, agent: Any, *, emailed: bool
) -> None:
    """An agent's public answer on a ticket of a wallet user."""
    if ticket.user_id is None:
        return
    from qianbao.support.tickets import repository as ticket_repo

    user = await ticket_repo.user(s, ticket.user_id)
    if user is None:
        return
    sign = await signature(s, agent, N_("Agent"))
    params = {**sign.line(), "reference": ticket.reference}
    added = await inbox.add(
        s,
        user_id=user.id,
        template=TICKET_TEMPLATE,
        params=params,
        link=f"/support/tickets/{ticket.reference}",
        dedup_key=f"ticket-reply:{msg.id}",
    )
    if added:
        await inbox.send_by_preference(
            s,
            user,
            TICKET_TEMPLATE,
            params,
            outbox_sealer(settings),
            about="support",
            skip=("email",) if emailed else (),
        )
