"""Support e-mail over real SMTP on localhost: the inbound listener (aiosmtpd ``Controller`` with
``TicketMailHandler``) turns mail into tickets and threads replies; agent replies go out through
the outbox job to a local SMTP server with threading headers."""

from __future__ import annotations

import asyncio
import re
import smtplib
import socket
from collections.abc import AsyncIterator, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from qianbao.kernel.db import Database
from qianbao.settings import Settings
from qianbao.support.tickets import service, staff
from qianbao.support.tickets.mail_in import TicketMailHandler
from qianbao.support.tickets.models import Ticket, TicketAttachment, TicketMessage
from qianbao.tasks import register_tasks
from qianbao.worker import Worker, registry
from tests.conftest import base_settings
from tests.support.identity import STRONG_PASSWORD, new_phone

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 100
SUPPORT = "support@qianbao.test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def outgoing() -> Iterator[tuple[Collector, int]]:
    collector, port = Collector(), _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


@pytest.fixture
def mail_settings(tmp_path: Path, outgoing: tuple[Collector, int]) -> Settings:
    return base_settings(
        email={"backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": outgoing[1],
               "from_address": f"Qianbao <{SUPPORT}>"},
        tickets={"max_attachment_bytes": 1000},
    )  # fmt: skip


@pytest.fixture
async def inbound(fresh_db_url: str, mail_settings: Settings) -> AsyncIterator[int]:
    """The ticket mail listener on 127.0.0.1 and a free port, its own database pool in the
    controller's thread."""
    port = _free_port()
    db = Database(fresh_db_url, pool_size=2)
    controller = Controller(
        TicketMailHandler(db, mail_settings), hostname="127.0.0.1", port=port,
        data_size_limit=mail_settings.tickets.mail_max_bytes,
    )  # fmt: skip
    controller.start()
    try:
        yield port
    finally:
        loop = controller.loop
        asyncio.run_coroutine_threadsafe(db.dispose(), loop).result(10)
        controller.stop()


def mail(
    *,
    sender: str | None,
    subject: str,
    body: str,
    in_reply_to: str | None = None,
    message_id: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    if sender:
        msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    if attachment:
        name, data = attachment
        maintype, subtype = ("image", "png") if name.endswith(".png") else ("application", "bin")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def send(port: int, msg: EmailMessage, envelope_from: str | None = None) -> None:
    def go() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(msg, from_addr=envelope_from if envelope_from is not None
                              else str(msg["From"] or ""), to_addrs=[SUPPORT])  # fmt: skip

    go()


async def tickets(db: Database) -> list[Ticket]:
    async with db.session() as s:
        return list((await s.execute(select(Ticket).order_by(Ticket.created_at))).scalars())


async def count(db: Database, model: Any) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_mail_in_threads_by_message_id_and_only_trusts_the_requester(
    inbound: int, fresh_db: Database, mail_settings: Settings
):
    send(inbound, mail(sender="Li Lei <lilei@example.com>", subject="Money missing",
                       body="My top-up of 50 yuan is missing.", message_id="<first@example.com>",
                       attachment=("screen.png", PNG)))  # fmt: skip
    [t] = await tickets(fresh_db)
    assert t.requester_email == "lilei@example.com" and t.user_id is None
    assert t.channel == "email" and t.subject == "Money missing" and t.status == "new"
    async with fresh_db.session() as s:
        [item] = await service.thread(s, t, internal=False)
    assert item.message.body == "My top-up of 50 yuan is missing."
    assert item.message.message_id == "<first@example.com>"
    assert [(a.filename, a.content_type, a.data) for a in item.attachments] == [
        ("screen.png", "image/png", PNG)
    ]

    # A reply naming our Message-ID joins the ticket.
    send(inbound, mail(sender="lilei@example.com", subject="Re: Money missing",
                       body="Any news?", in_reply_to="<first@example.com>",
                       message_id="<second@example.com>"))  # fmt: skip
    assert [x.reference for x in await tickets(fresh_db)] == [t.reference]
    # The reference in the subject from the requester's address joins it too.
    send(inbound, mail(sender="LiLei@Example.com", subject=f"[{t.reference}] more",
                       body="Third message"))  # fmt: skip
    async with fresh_db.session() as s:
        bodies = [i.message.body for i in await service.thread(s, t, internal=False)]
    assert bodies == ["My top-up of 50 yuan is missing.", "Any news?", "Third message"]

    # A forged reference (another sender) opens a new ticket instead; so does a Message-ID.
    send(inbound, mail(sender="mallory@evil.example", subject=f"Re: [{t.reference}] hi",
                       body="Let me in"))  # fmt: skip
    send(inbound, mail(sender="mallory@evil.example", subject="Re: x", body="Me too",
                       in_reply_to="<first@example.com>"))  # fmt: skip
    all_tickets = await tickets(fresh_db)
    assert len(all_tickets) == 3
    assert [x.requester_email for x in all_tickets[1:]] == ["mallory@evil.example"] * 2
    assert all_tickets[1].subject == "hi"
    async with fresh_db.session() as s:
        assert len(await service.thread(s, t, internal=False)) == 3


async def test_refusals_store_nothing(inbound: int, fresh_db: Database):
    before = (await count(fresh_db, Ticket), await count(fresh_db, TicketMessage))
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(inbound, mail(sender=None, subject="anon", body="who am I"), envelope_from="")
    assert refused.value.smtp_code == 550
    assert b"no sender address" in refused.value.smtp_error
    with pytest.raises(smtplib.SMTPDataError) as data_refused:
        send(inbound, mail(sender="a@example.com", subject="virus", body="see attached",
                           attachment=("invoice.png", b"MZ\x90\x00 an executable")))  # fmt: skip
    assert data_refused.value.smtp_code == 550
    assert b"invoice.png" in data_refused.value.smtp_error
    with pytest.raises(smtplib.SMTPDataError) as too_big:
        send(inbound, mail(sender="a@example.com", subject="big", body="see attached",
                           attachment=("big.png", PNG * 20)))  # fmt: skip
    assert b"too large" in too_big.value.smtp_error
    assert (await count(fresh_db, Ticket), await count(fresh_db, TicketMessage)) == before
    assert await count(fresh_db, TicketAttachment) == 0


async def test_agent_reply_goes_out_with_threading_headers(
    inbound: int, fresh_db: Database, mail_settings: Settings, outgoing: tuple[Collector, int]
):
    collector, _ = outgoing
    send(inbound, mail(sender="hanmeimei@example.com", subject="Withdrawal late",
                       body="Where is my money?", message_id="<q1@example.com>"))  # fmt: skip
    [t] = await tickets(fresh_db)
    async with fresh_db.transaction() as s:
        ticket = await service.any_ticket(s, t.reference)
        agent = await id_accounts.create_staff(
            s, IdentityContext(settings=mail_settings, db=fresh_db), phone_raw=new_phone(),
            password=STRONG_PASSWORD, role="support_agent", name="Agent Mail",
        )  # fmt: skip
        note = await staff.reply(s, mail_settings, agent, ticket, "internal only", internal=True)
        msg = await staff.reply(s, mail_settings, agent, ticket, "It arrives tomorrow.")
        sent_id = msg.message_id
    assert note.message_id is None and sent_id and sent_id.endswith("@qianbao.test>")
    register_tasks()
    await Worker(fresh_db, registry, services={"settings": mail_settings}).run_until_idle()
    assert len(collector.envelopes) == 1
    envelope = collector.envelopes[0]
    assert envelope.rcpt_tos == ["hanmeimei@example.com"]
    out = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
    assert out["Message-ID"] == sent_id
    assert out["In-Reply-To"] == "<q1@example.com>"
    assert out["References"] == "<q1@example.com>"
    assert out["Subject"] == f"Re: [{t.reference}] Withdrawal late"
    text = out.get_body(preferencelist=("plain",)).get_content().strip().replace("\r\n", "\n")
    assert text.startswith("It arrives tomorrow.\n\n— Agent Mail")  # signed with the agent id
    # In the desk's default language (the sender has no wallet): name · 工号 QB-…，钱包客服.
    assert re.search(r"— Agent Mail · 工号 QB-\d{6}，钱包客服$", text), text

    # The customer's mail client answers the reply: back to the same ticket, status open.
    send(inbound, mail(sender="hanmeimei@example.com", subject=str(out["Subject"]),
                       body="Thanks!", in_reply_to=sent_id))  # fmt: skip
    [again] = await tickets(fresh_db)
    assert again.id == t.id and again.status == "open"
