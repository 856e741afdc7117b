"""The live chat in a real browser, two contexts: a signed-in customer opens the chat from the
footer, asks, gets a help article from the bot, asks for a person; an agent (2FA on) who went
online in the console gets the conversation, sees "verified customer" and answers; the customer
sees the answer arrive over the WebSocket, with the agent's name and agent id. After hours the
same request becomes a ticket with the time of the reply.

The desk keeps business hours (08:00–22:00 China time), so these tests say what time it is: they
run on a live server of their own whose clock they move (``desk.clock.travel``), forward only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from qianbao.identity import sessions
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.support.chat.texts import when
from qianbao.support.tickets.models import Ticket
from tests.conftest import DatabaseFactory, _run
from tests.support.identity import new_phone
from tests.support.pages import script_errors, shot
from tests.support.secrets import remember
from tests.web.conftest import page_opener, pages_server

pytestmark = pytest.mark.browser


def web_user(server: Any, *, role: str, name: str) -> str:
    """A user with a web session on the live server's database; returns the session token."""

    async def make() -> str:
        db = server.database()
        ctx = IdentityContext(settings=server.app.state.settings, db=db, clock=db.clock)
        try:
            async with db.transaction() as s:
                user = User(phone="+86" + new_phone(), password_hash="x", role=role, real_name=name)
                if role != "user":
                    user.totp_enabled_at = ctx.clock.now()
                s.add(user)
                await s.flush()
                new = await sessions.start(
                    s, ctx, user, kind="web", ip=None, user_agent=None, device_token=None
                )
            return new.token
        finally:
            await db.dispose()

    token = _run(make())
    remember(token)
    return token


def signed_in(page: Any, server: Any, token: str) -> None:
    cookie = server.app.state.settings.security.session_cookie
    page.context.add_cookies([{"name": cookie, "value": token, "url": server.url}])


@pytest.fixture
def quiet_sockets() -> Any:
    """uvicorn's WebSocket protocol logs every handshake header (cookies) at DEBUG level."""
    import logging

    names = ("uvicorn.error", "websockets", "websockets.server")
    levels = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.INFO)
    yield
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)


@pytest.fixture(scope="module")
def desk(db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The chat's own live server (its clock is moved by these tests, never by others')."""
    with pages_server(db_factory, tmp_path_factory.mktemp("chat")) as server:
        yield server


@pytest.fixture
def open_desk_page(browser: Any, desk: Any) -> Iterator[Callable[..., Any]]:
    yield from page_opener(browser, desk)


async def ticket_due(server: Any, reference: str) -> datetime:
    db = server.database()
    try:
        async with db.session() as s:
            ticket = (
                await s.execute(select(Ticket).where(Ticket.reference == reference))
            ).scalar_one()
            return ticket.first_response_due
    finally:
        await db.dispose()


def next_day_at(server: Any, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` China time on the server's next day (moving forward only)."""
    day = server.clock.today() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


@pytest.mark.usefixtures("quiet_sockets")
def test_customer_asks_bot_then_agent_answers_over_websocket(open_desk_page, desk):
    server, open_page = desk, open_desk_page
    assert (server.app.state.settings.chat.opens_at, server.app.state.settings.chat.closes_at) == (
        8,
        22,
    )
    server.clock.travel(next_day_at(server, 10))  # the desk is open
    agent = open_page(locale="en", viewport="desktop")
    signed_in(agent, server, web_user(server, role="support_agent", name="Agent Wu"))
    customer = open_page(locale="en")
    signed_in(customer, server, web_user(server, role="user", name="Li Lei"))
    frames: list[str] = []
    customer.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))

    # The agent goes online.
    agent.goto("/console/chat")
    agent.get_by_role("button", name="Go online").click()
    agent.wait_for_url("**/console/chat?notice=*")
    assert "Online" in agent.locator(".chat-console .badge").first.inner_text()
    shot(agent, "chat-console-online")

    # The customer opens the chat from the footer and asks.
    customer.goto("/wallet")
    customer.locator(".site-footer a[href='/chat']").click()
    customer.wait_for_url("**/chat")
    assert customer.locator(".chat-head .badge").inner_text() == "Signed in: verified"
    customer.locator("#chat-text").fill("how do I recharg my wallet")
    customer.locator("#chat-text").press("Enter")
    article = customer.locator(".chat-bot .chat-answer .chat-card-title").first
    article.wait_for()
    assert article.inner_text() == "How to top up your wallet"
    assert article.get_attribute("href") == "/help/how-to-top-up"
    shot(customer, "chat-bot-answer")

    # "Talk to a person": the only online agent gets the conversation.
    customer.get_by_role("button", name="Talk to a person").click()
    status = customer.locator("#chat-status")
    customer.locator("#chat-status[data-status='assigned']").wait_for(timeout=10_000)
    assert re.fullmatch(r"You are chatting with Agent Wu · Agent ID QB-\d{6}", status.inner_text())
    assert customer.locator("#chat-handoff").is_hidden()
    shot(customer, "chat-assigned")

    # The agent's list reloads itself when the conversation arrives.
    agent.locator(".chat-list a").first.wait_for(timeout=10_000)
    assert agent.locator(".chat-list a").first.inner_text().startswith("Verified customer · L")
    agent.locator(".chat-list a").first.click()
    agent.wait_for_url("**/console/chat/*")
    assert agent.locator("h1").inner_text() == "Verified customer"
    assert agent.locator(".chat-context a").get_attribute("href").startswith("/console/customers/")
    assert "how do I recharg my wallet" in agent.locator("#chat-messages").inner_text()
    agent.locator("#chat-text").fill("Hello, this is Wu. Tap <Top up> on your wallet page.")
    agent.locator("#chat-text").press("Enter")
    agent.locator(".chat-agent.mine .chat-text").wait_for()
    shot(agent, "chat-console-conversation")

    # The customer sees the answer, with the agent's name and id, pushed over the socket.
    answer = customer.locator(".chat-agent .chat-text")
    answer.wait_for(timeout=10_000)
    assert answer.inner_text() == "Hello, this is Wu. Tap <Top up> on your wallet page."
    assert re.fullmatch(
        r"Agent Wu · Agent ID QB-\d{6}", customer.locator(".chat-agent .chat-author").inner_text()
    )
    assert any("Hello, this is Wu." in f for f in frames)
    # The agent has read the customer's messages: "Read" shows under them.
    customer.locator(".chat-customer.mine .chat-read:visible").first.wait_for(timeout=10_000)
    shot(customer, "chat-agent-answer")
    assert script_errors(customer) == []
    assert script_errors(agent) == []


@pytest.mark.usefixtures("quiet_sockets")
def test_after_hours_the_request_for_a_person_becomes_a_ticket(open_desk_page, desk):
    """At 23:30 China time, in Chinese on a phone: an agent is online, but the desk is closed;
    "talk to a person" turns the chat into a ticket that promises a reply after the next
    opening (08:00 + the queue's 30 minutes)."""
    server, open_page = desk, open_desk_page
    night = next_day_at(server, 23, 30)
    server.clock.travel(night)
    agent = open_page(locale="zh_CN", viewport="desktop")
    signed_in(agent, server, web_user(server, role="support_agent", name="夜班客服"))
    agent.goto("/console/chat")
    agent.get_by_role("button", name="上线").click()
    agent.wait_for_url("**/console/chat?notice=*")
    customer = open_page(locale="zh_CN")
    signed_in(customer, server, web_user(server, role="user", name="韩梅梅"))

    customer.goto("/chat")
    customer.locator("#chat-text").fill("我的卡被扣了两次款")
    customer.locator("#chat-text").press("Enter")
    customer.locator(".chat-bot:not(.chat-welcome)").first.wait_for()
    customer.get_by_role("button", name="转人工客服").click()
    customer.wait_for_function(
        "() => [...document.querySelectorAll('.chat-system .chat-text')]"
        ".some(e => e.textContent.includes('转为工单'))",
        timeout=30_000,  # a loaded CI machine: the hand-off request, then the page
    )
    text = customer.locator(".chat-system .chat-text").last.inner_text()
    found = re.search(r"我们已将本次咨询转为工单 (T\d{8}-\d{6})。预计 (.+) 前回复您", text)
    assert found, text
    assert found.group(1).startswith(f"T{night:%Y%m%d}")
    # The promise is the ticket's first-response time (its SLA in business hours), after tonight.
    due = _run(ticket_due(server, found.group(1)))
    assert due > night and found.group(2) == when(due, "zh_CN")
    shot(customer, "chat-after-hours-ticket-zh")
    # The ticket is there, under the customer's support tickets, with what they wrote.
    customer.goto("/support/tickets")
    assert found.group(1) in customer.locator("main").inner_text()
    # Nothing was handed to the online agent.
    agent.goto("/console/chat")
    assert agent.locator(".chat-list a").count() == 0
    assert script_errors(customer) == []
