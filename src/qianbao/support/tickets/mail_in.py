"""E-mail in (E3): an SMTP listener (aiosmtpd) turns mail into tickets and replies.

Threading, in order:
1. ``In-Reply-To`` / ``References`` name a Message-ID we stored (ours or the customer's);
2. otherwise the ticket reference in the subject (``[T20261123-482913]``).
Either way the sender's address must be the ticket's requester: a message from anyone else (a
forged reference) opens a new ticket instead. Mail to a closed ticket opens a new one too;
a merged ticket's mail goes to the ticket it was merged into.

Refused with an SMTP 5xx and a clear text, storing nothing: no sender, a message over the size
limit, an attachment of a refused type or size. Everything else of one message is stored in one
transaction.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any

import nh3

from qianbao.kernel.errors import DomainError
from qianbao.kernel.i18n import N_
from qianbao.kernel.logging import get_logger
from qianbao.kernel.translations import gettext as translate
from qianbao.notifications import mask_destination
from qianbao.support.tickets import attachments as att
from qianbao.support.tickets import repository as repo
from qianbao.support.tickets.errors import MailRefused
from qianbao.support.tickets.models import Ticket
from qianbao.support.tickets.service import (
    NewTicket,
    check_uploads,
    customer_reply,
    open_ticket,
)

REFERENCE_RE = re.compile(r"\[(T\d{8}-\d{6})\]")
MSGID_RE = re.compile(r"<[^<>\s]{1,248}>")
_ADDRESS_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
log = get_logger(__name__)


@dataclass(frozen=True)
class Ingested:
    reference: str
    new_ticket: bool


def _sender(msg: EmailMessage, envelope_from: str | None) -> str:
    _, address = parseaddr(str(msg.get("From", "") or ""))
    address = address or (envelope_from or "")
    address = address.strip().lower()
    if not _ADDRESS_RE.match(address):
        raise MailRefused(problem=N_("the message has no sender address."))
    return address


def _text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_subtype() == "html":
        content = html.unescape(nh3.clean(content, tags=set()))
    return str(content).replace("\r\n", "\n").strip()


def _uploads(msg: EmailMessage) -> list[att.Upload]:
    found = []
    for part in msg.iter_attachments():
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True) or b""
        found.append(att.Upload(part.get_filename() or "attachment", bytes(data)))
    return found


def _thread_ids(msg: EmailMessage) -> list[str]:
    raw = f"{msg.get('In-Reply-To', '') or ''} {msg.get('References', '') or ''}"
    return MSGID_RE.findall(raw)[-50:]


def _requester_of(ticket: Ticket) -> str | None:
    return (ticket.requester_email or "").lower() or None


async def _follow(s: Any, ticket: Ticket | None) -> Ticket | None:
    for _ in range(10):  # a merged ticket's mail goes to where it was merged
        if ticket is None or ticket.merged_into is None:
            return ticket
        ticket = await repo.by_id(s, ticket.merged_into)
    return ticket


async def _match(s: Any, msg: EmailMessage, sender: str) -> Ticket | None:
    candidate = None
    found = await repo.message_by_mail_id(s, _thread_ids(msg))
    if found is not None:
        candidate = await repo.by_id(s, found.ticket_id)
    if candidate is None:
        ref = REFERENCE_RE.search(str(msg.get("Subject", "") or ""))
        if ref:
            candidate = await repo.by_reference(s, ref.group(1))
    candidate = await _follow(s, candidate)
    if candidate is None or _requester_of(candidate) != sender:
        return None  # unknown, or a reference from another address: a new ticket
    if candidate.status == "closed":
        return None
    return candidate


async def ingest(
    s: Any, settings: Any, raw: bytes, *, envelope_from: str | None = None
) -> Ingested:
    """Store one e-mail as a new ticket or a reply; refuses (``MailRefused`` or an attachment
    error) before anything is written."""
    if len(raw) > settings.tickets.mail_max_bytes:
        raise MailRefused(problem=N_("the message is too large."))
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    sender = _sender(msg, envelope_from)
    body = _text_of(msg)[: settings.tickets.max_body_chars] or "(no text)"
    files = check_uploads(settings, _uploads(msg))
    found_ids: list[str] = MSGID_RE.findall(str(msg.get("Message-ID", "") or ""))
    mail_id = found_ids[0] if found_ids else None
    seen = await repo.message_by_mail_id(s, [mail_id]) if mail_id else None
    if seen is not None:  # a redelivery of a message already stored: once only
        known = await repo.by_id(s, seen.ticket_id)
        return Ingested(known.reference if known else "", False)
    thread_ids = _thread_ids(msg)
    in_reply_to = thread_ids[-1] if thread_ids else None
    ticket = await _match(s, msg, sender)
    if ticket is not None:
        await customer_reply(
            s, settings, ticket.user_id, ticket, body, via="email", author_email=sender,
            message_id=mail_id, in_reply_to=in_reply_to, checked=files,
        )  # fmt: skip
        return Ingested(ticket.reference, False)
    user = await repo.user_by_verified_email(s, sender)
    subject = REFERENCE_RE.sub("", str(msg.get("Subject", "") or "")).strip()
    subject = re.sub(r"^((re|fwd?|回复|转发)\s*[:：]\s*)+", "", subject, flags=re.I).strip()
    new = NewTicket(category="other", subject=subject or "(no subject)", body=body)
    ticket = await open_ticket(
        s, settings, new=new, user_id=user.id if user else None, requester_email=sender,
        channel="email", uploads=files, message_id=mail_id, in_reply_to=in_reply_to,
    )  # fmt: skip
    return Ingested(ticket.reference, True)


class TicketMailHandler:
    """aiosmtpd handler: ``Controller(TicketMailHandler(db, settings), ...)``."""

    def __init__(self, db: Any, settings: Any) -> None:
        self.db = db
        self.settings = settings

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if not address or not _ADDRESS_RE.match(address.strip()):
            return "550 5.1.7 Refused: the message has no sender address"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > self.settings.tickets.mail_max_bytes:
            return "552 5.3.4 Refused: the message is too large"
        try:
            async with self.db.transaction() as s:
                done = await ingest(s, self.settings, raw, envelope_from=envelope.mail_from)
        except DomainError as exc:
            text = translate("en", exc.message, **exc.params).replace("\r", " ").replace("\n", " ")
            log.info("ticket_mail_refused", code=exc.code,
                     sender=mask_destination(envelope.mail_from or "-"))  # fmt: skip
            return f"550 5.7.1 {text}"
        log.info("ticket_mail_received", ticket=done.reference, new_ticket=done.new_ticket,
                 sender=mask_destination(envelope.mail_from or "-"))  # fmt: skip
        return f"250 OK {done.reference}"


def controller(db: Any, settings: Any, *, host: str | None = None, port: int | None = None) -> Any:
    """An aiosmtpd ``Controller`` on the configured (or given) host and port; ``start()`` it."""
    from aiosmtpd.controller import Controller

    return Controller(
        TicketMailHandler(db, settings),
        hostname=host or settings.tickets.mail_host,
        port=port or settings.tickets.mail_port,
        data_size_limit=settings.tickets.mail_max_bytes,
    )


async def serve(db: Any, settings: Any, *, host: str, port: int) -> Any:
    """Listen on the running event loop (the CLI); returns the ``asyncio.Server``."""
    import asyncio

    from aiosmtpd.smtp import SMTP

    handler = TicketMailHandler(db, settings)
    limit = settings.tickets.mail_max_bytes
    return await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, data_size_limit=limit, hostname="qianbao-support"), host, port
    )
