"""E-mail out (E3): agent replies and transcripts, sent by a job after the request commits.

An agent reply gets its Message-ID when it is stored (``<ticket-<message id>@domain>``), so a
retried job sends the same id (the development file backend skips an id it already has). The
reply carries ``In-Reply-To`` / ``References`` of the thread's earlier messages and the ticket
reference in the subject (``Re: [T20261123-482913] …``): the customer's answer comes back to the
same ticket (``mail_in``)."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.kernel.i18n import N_
from qianbao.kernel.logging import get_logger
from qianbao.kernel.outbox import emit
from qianbao.kernel.translations import gettext
from qianbao.notifications import email_sender, mask_destination, new_message_id
from qianbao.support.tickets import repository as repo
from qianbao.support.tickets.models import Ticket, TicketMessage
from qianbao.support.tickets.transcript import as_text
from qianbao.worker import JobContext

TOPIC = "support.ticket_mail_requested"
TASK = "support.ticket_mail"
log = get_logger(__name__)


def reply_from(settings: Any) -> str:
    return str(settings.tickets.reply_address or settings.email.from_address)


def subject_of(ticket: Ticket, *, reply: bool = True) -> str:
    return f"{'Re: ' if reply else ''}[{ticket.reference}] {ticket.subject}"


def mail_id_for(settings: Any, message: TicketMessage) -> str:
    return new_message_id(reply_from(settings), f"ticket-{message.id}")


async def request_reply(s: Any, message: TicketMessage) -> None:
    await emit(s, TOPIC, {"kind": "reply", "message": str(message.id)})


async def request_transcript(s: Any, ticket: Ticket, to: str, locale: str) -> None:
    await emit(s, TOPIC, {"kind": "transcript", "ticket": str(ticket.id), "to": to,
                          "locale": locale})  # fmt: skip


async def _signed(s: Any, settings: Any, ticket: Ticket, message: TicketMessage) -> str:
    """The answer's signature: the agent's name and public agent id (the ones /verify knows)."""
    from qianbao.support.reply_notice import signature

    staff = await repo.user(s, message.author_id) if message.author_id else None
    if staff is None:
        return ""
    owner = await repo.user(s, ticket.user_id) if ticket.user_id else None
    locale = owner.locale if owner is not None else settings.i18n.default_locale
    sign = await signature(s, staff, gettext(locale, N_("Customer service")))
    return "\n\n— " + gettext(
        locale, N_("{name} · Agent ID {agent_id}, Qianbao customer service"),
        name=sign.name, agent_id=sign.agent_id,
    )  # fmt: skip


def _sender(ctx: JobContext) -> Any:
    settings = ctx.services["settings"]
    if ctx.services.get("email_sender") is not None:
        return ctx.services["email_sender"]
    own = settings.model_copy(
        update={"email": settings.email.model_copy(update={"from_address": reply_from(settings)})}
    )
    return email_sender(own, ctx.clock)


async def send(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The job: send one agent reply or one transcript."""
    s = ctx.session
    if payload.get("kind") == "transcript":
        ticket = await repo.by_id(s, uuid.UUID(payload["ticket"]))
        if ticket is None:
            return
        locale = payload.get("locale", "zh_CN")
        text = await as_text(s, ticket, locale)
        await _sender(ctx).send(
            to=payload["to"],
            subject=gettext(locale, N_("Transcript of ticket {reference}"),
                            reference=ticket.reference),
            text=text,
            attachments=[(f"{ticket.reference}.txt", "text/plain", text.encode())],
            message_id=new_message_id(reply_from(ctx.services["settings"]),
                                      f"transcript-{ctx.job_id}-{ticket.id}"),
        )  # fmt: skip
        log.info("ticket_transcript_sent", ticket=ticket.reference,
                 to=mask_destination(payload["to"]))  # fmt: skip
        return
    message = await repo.message(s, uuid.UUID(payload["message"]))
    if message is None or message.internal or not message.message_id:
        return
    ticket = await repo.by_id(s, message.ticket_id)
    if ticket is None or not ticket.requester_email:
        return
    earlier = [i for i in await repo.mail_ids(s, ticket.id) if i != message.message_id]
    headers: dict[str, str] = {}
    if earlier:
        headers["In-Reply-To"] = message.in_reply_to or earlier[-1]
        headers["References"] = " ".join(earlier[-20:])
    files = [
        (a.filename, a.content_type, a.data) for a in await repo.attachments_of(s, [message.id])
    ]
    await _sender(ctx).send(
        to=ticket.requester_email,
        subject=subject_of(ticket),
        text=message.body + await _signed(s, ctx.services["settings"], ticket, message),
        attachments=files,
        headers=headers,
        message_id=message.message_id,
    )
    log.info("ticket_reply_sent", ticket=ticket.reference,
             to=mask_destination(ticket.requester_email))  # fmt: skip
