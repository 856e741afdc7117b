"""The live chat in a real browser, two contexts: a signed-in customer opens the chat from the
footer, asks, gets a help article from the bot, asks for a person; an agent (2FA on) who went
online in the console gets the conversation, sees "verified customer" and answers; the customer
sees the answer arrive over the WebSocket, with the agent's name and agent id."""

from __future__ import annotations

import re
from typing import Any

import pytest

from qianbao.identity import sessions
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.db import Database
from tests.conftest import _run
from tests.support.identity import new_phone
from tests.support.pages import script_errors, shot
from tests.support.secrets import remember

pytestmark = pytest.mark.browser


def web_user(server: Any, *, role: str, name: str) -> str:
    """A user with a web session on the live server's database; returns the session token."""

    async def make() -> str:
        db = Database(server.app.state.db.url)
        ctx = IdentityContext(settings=server.app.state.settings, db=db)
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


@pytest.mark.usefixtures("quiet_sockets")
def test_customer_asks_bot_then_agent_answers_over_websocket(open_page, server):
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
    article = customer.locator(".chat-bot .chat-articles a").first
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
