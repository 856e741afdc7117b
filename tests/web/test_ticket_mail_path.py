"""E-mail support end to end, with the agent in a real browser (E3): a customer's mail, sent with
smtplib to the inbound listener (``support.tickets.mail_in.controller``) on the live server's
database, becomes a ticket with its attachment; a support agent signs in with an authenticator
code, finds it in the unassigned queue, opens it and answers in the browser; the answer arrives
over SMTP at a local sink, threaded (``In-Reply-To`` the customer's Message-ID, ``[T…]`` in the
subject); the customer's client answers that, and the answer joins the same ticket.

How the live server is made to send by SMTP for this test only: the e-mail backend is not cached.
Each job of the in-process worker (``support.ticket_mail`` here) builds its sender from
``ctx.services["settings"]``, and that is the very object at ``server.app.state.settings``
(``create_app`` hands the same ``Settings`` to both). So the ``smtp_sink`` fixture replaces
``settings.email`` with an SMTP configuration pointing at the sink and puts the file backend back
in a ``finally`` block: the other browser tests keep reading codes from the ``.eml`` folder."""

from __future__ import annotations

import asyncio
import re
import secrets
import smtplib
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pyotp
import pytest
from aiosmtpd.controller import Controller

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from qianbao.support.tickets import mail_in
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, new_phone
from tests.support.pages import notice_text, script_errors, shot, sign_in
from tests.support.secrets import remember
from tests.web.browser import free_port

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 200
SUPPORT = "support@qianbao.test"


class Sink:
    """An SMTP server that keeps what it receives (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def wait_for(self, to: str, timeout: float = 20) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for env in self.envelopes:
                if to in env.rcpt_tos:
                    parsed = BytesParser(policy=policy.default).parsebytes(env.original_content)
                    assert isinstance(parsed, EmailMessage)
                    return parsed
            time.sleep(0.2)
        raise AssertionError(f"nothing reached {to} by SMTP: {len(self.envelopes)} other(s)")


@pytest.fixture
def smtp_sink(server: Any) -> Iterator[Sink]:
    """The live server sends its e-mail to a local SMTP sink while the test runs."""
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = server.app.state.settings
    saved = settings.email
    settings.email = saved.model_copy(
        update={"backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port,
                "smtp_starttls": False, "smtp_tls": False, "smtp_username": None,
                "smtp_password": None, "timeout_s": 10.0}
    )  # fmt: skip
    try:
        yield sink
    finally:
        settings.email = saved
        controller.stop()


@pytest.fixture
def inbound(server: Any) -> Iterator[int]:
    """The ticket mail listener on 127.0.0.1:<free port>, on the live server's database (its
    own small pool, used only in the listener's thread)."""
    port = free_port()
    db = server.database(pool_size=2)
    controller = mail_in.controller(db, server.app.state.settings, host="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(db.dispose(), controller.loop).result(10)
        controller.stop()


def _agent(server: Any) -> tuple[str, str]:
    """A support agent with two-step verification on; returns (phone, TOTP secret)."""
    phone, secret = new_phone(), pyotp.random_base32()
    remember(secret)

    async def go() -> None:
        db = server.database()
        ctx: IdentityContext = server.app.state.identity
        try:
            async with db.transaction() as s:
                user = await id_accounts.create_staff(
                    s, ctx, phone_raw=phone, password=STRONG_PASSWORD, role="support_agent",
                    name="客服小邮",
                )  # fmt: skip
                user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
                user.totp_enabled_at = ctx.clock.now()
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())
    return phone, secret


def _send(port: int, msg: EmailMessage) -> str:
    """smtplib to the listener; returns its answer (``250 OK T…``)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as smtp:
        smtp.ehlo()
        smtp.mail(str(msg["From"]))
        code, _ = smtp.rcpt(SUPPORT)
        assert code == 250
        code, answer = smtp.data(msg.as_bytes(policy=policy.SMTP))
        assert code == 250, answer
        return answer.decode()


def test_mail_becomes_a_ticket_and_the_browser_reply_goes_out_by_smtp(
    open_page: Any, server: Any, inbound: int, smtp_sink: Sink
) -> None:
    tag = secrets.token_hex(3)
    customer = f"zhang.wei.{tag}@example.com"
    subject = f"Refund for order {tag}"
    first_id = f"<order-{tag}@mail.example.com>"
    msg = EmailMessage()
    msg["From"] = f"Zhang Wei <{customer}>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Message-ID"] = first_id
    msg.set_content("I was charged twice for the same order. The receipt is attached.")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="receipt.png")
    answer = _send(inbound, msg)
    reference = re.search(r"T\d{8}-\d{6}", answer).group(0)  # type: ignore[union-attr]

    agent = open_page(locale="en", viewport="desktop")
    phone, secret = _agent(server)
    sign_in(agent, phone)
    agent.wait_for_url("**/login/2fa**")
    agent.locator("#twofa-code").fill(pyotp.TOTP(secret).at(server.clock.now()))
    agent.get_by_role("button", name="Continue").click()
    agent.wait_for_load_state()
    agent.goto("/console/tickets?queue=unassigned")
    row = agent.locator("#ticket-queue li", has_text=subject)
    assert reference in row.inner_text()
    shot(agent, "ticket-mail-queue-en")
    row.get_by_role("link", name=subject).click()
    agent.wait_for_url(f"**/console/tickets/{reference}")
    assert customer in agent.locator("main").inner_text()
    thread = agent.locator("#thread")
    assert "charged twice" in thread.inner_text() and "by e-mail" in thread.inner_text()
    assert "receipt.png" in thread.inner_text()
    shot(agent, "ticket-mail-ticket-en")

    agent.locator("#reply-body").fill("We refunded the second charge today. Sorry!")
    agent.locator("#reply button[type=submit]").click()
    agent.wait_for_url(f"**/console/tickets/{reference}?notice=emailed")
    assert "Your answer was added and e-mailed to the customer." in notice_text(agent)
    assert "Waiting for customer" in agent.locator("#ticket-status").inner_text()

    reply = smtp_sink.wait_for(customer)
    assert f"[{reference}]" in str(reply["Subject"]) and subject in str(reply["Subject"])
    assert reply["In-Reply-To"] == first_id
    assert first_id in str(reply["References"])
    assert "refunded the second charge" in reply.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    reply_id = str(reply["Message-ID"])

    # The customer's mail client answers the reply: it joins the same ticket, which opens again.
    back = EmailMessage()
    back["From"] = customer
    back["To"] = SUPPORT
    back["Subject"] = f"Re: {reply['Subject']}"
    back["In-Reply-To"] = reply_id
    back["References"] = f"{first_id} {reply_id}"
    back.set_content("Got it, thank you!")
    assert reference in _send(inbound, back)
    agent.goto(f"/console/tickets/{reference}")
    assert "Got it, thank you!" in agent.locator("#thread").inner_text()
    assert "Open" in agent.locator("#ticket-status").inner_text()
    shot(agent, "ticket-mail-answered-en")
    assert script_errors(agent) == []
