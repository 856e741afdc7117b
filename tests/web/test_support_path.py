"""The whole support path in chromium with two browser contexts (issue #6): a signed-in customer
asks in the chat, the bot answers with a help article (opened), "talk to a person"; an agent
(a supervisor who signs in with a password and a TOTP code) goes online, gets the conversation,
answers; the customer sees the answer over the WebSocket; the agent closes it; the customer rates
it 5 with a comment (stored, and counted in the reports' CSAT); the customer finds it under "My
conversations and tickets" and downloads the transcript (masked, nothing internal)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pyotp
import pytest
from sqlalchemy import select, update

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from qianbao.support.chat.models import ChatAgent
from qianbao.support.console.models import Rating
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, new_phone
from tests.support.pages import script_errors, shot, sign_in
from tests.support.secrets import remember
from tests.web.test_chat_pages import quiet_sockets, signed_in, web_user  # noqa: F401

pytestmark = pytest.mark.browser


def _db_call(server: Any, work: Any) -> Any:
    async def go() -> Any:
        db = server.database()
        try:
            async with db.transaction() as s:
                return await work(s)
        finally:
            await db.dispose()

    return in_thread(asyncio.run, go())


def _agent_with_totp(server: Any, name: str) -> tuple[str, str]:
    """A supervisor (chat agent and reports reader) with two-step verification on."""
    phone, secret = new_phone(), pyotp.random_base32()
    remember(secret)
    ctx: IdentityContext = server.app.state.identity

    async def work(s: Any) -> None:
        user = await id_accounts.create_staff(
            s, ctx, phone_raw=phone, password=STRONG_PASSWORD, role="supervisor", name=name
        )
        user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
        user.totp_enabled_at = ctx.clock.now()

    _db_call(server, work)
    return phone, secret


@pytest.fixture
def desk_open(server: Any) -> Any:
    """The chat desk open all day, and no agent of another test online."""
    chat = server.app.state.settings.chat
    hours = chat.opens_at, chat.closes_at
    chat.opens_at, chat.closes_at = 0, 24

    async def offline(s: Any) -> None:
        await s.execute(update(ChatAgent).values(online=False))

    _db_call(server, offline)
    yield
    chat.opens_at, chat.closes_at = hours


@pytest.mark.usefixtures("quiet_sockets", "desk_open")
def test_ask_article_handoff_answer_close_rate_transcript(open_page, server, tmp_path):
    agent = open_page(locale="en", viewport="desktop")
    customer = open_page(locale="en")
    signed_in(customer, server, web_user(server, role="user", name="Han Meimei"))
    frames: list[str] = []
    customer.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))

    # The agent signs in with a password and a TOTP code, and goes online.
    phone, secret = _agent_with_totp(server, "Agent Zhou")
    sign_in(agent, phone)
    agent.wait_for_url("**/login/2fa**")
    agent.locator("#twofa-code").fill(pyotp.TOTP(secret).at(server.clock.now()))
    agent.get_by_role("button", name="Continue").click()
    agent.wait_for_load_state()
    agent.goto("/console/chat")
    agent.get_by_role("button", name="Go online").click()
    agent.wait_for_url("**/console/chat?notice=*")
    shot(agent, "path-01-agent-online")

    # The customer asks; the bot answers with the help article.
    customer.goto("/chat")
    customer.locator("#chat-text").fill("how do I recharg my wallet")
    customer.locator("#chat-text").press("Enter")
    article = customer.locator(".chat-bot .chat-answer .chat-card-title").first
    article.wait_for()
    assert article.inner_text() == "How to top up your wallet"
    shot(customer, "path-02-bot-article")
    with customer.context.expect_page() as opened:
        article.click()
    help_page = opened.value
    help_page.wait_for_load_state()
    assert help_page.url.endswith("/help/how-to-top-up")
    assert help_page.locator("h1").first.inner_text() == "How to top up your wallet"
    shot(help_page, "path-03-help-article")
    help_page.close()

    # "Talk to a person": the agent gets it.
    customer.get_by_role("button", name="Talk to a person").click()
    customer.locator("#chat-status[data-status='assigned']").wait_for(timeout=10_000)
    assert re.fullmatch(
        r"You are chatting with Agent Zhou · Agent ID QB-\d{6}",
        customer.locator("#chat-status").inner_text(),
    )
    customer.locator("#chat-text").fill("The SMS code was 123456, is that right?")
    customer.locator("#chat-text").press("Enter")
    customer.locator(".chat-customer .chat-text", has_text="******").wait_for()
    shot(customer, "path-04-handed-off")

    agent.locator(".chat-list a").first.wait_for(timeout=10_000)
    agent.locator(".chat-list a").first.click()
    agent.wait_for_url("**/console/chat/*")
    conversation = agent.url.rsplit("/", 1)[1]
    uuid.UUID(conversation)
    assert "The SMS code was ******" in agent.locator("#chat-messages").inner_text()
    assert "123456" not in agent.content()
    agent.locator("#chat-text").fill("Hello, this is Zhou. Tap Top up on your wallet page.")
    agent.locator("#chat-text").press("Enter")
    agent.locator(".chat-agent.mine .chat-text").wait_for()

    # The customer sees the answer, pushed over the WebSocket.
    answer = customer.locator(".chat-agent .chat-text")
    answer.wait_for(timeout=10_000)
    assert answer.inner_text() == "Hello, this is Zhou. Tap Top up on your wallet page."
    assert any("Hello, this is Zhou." in f for f in frames)
    shot(customer, "path-05-agent-answer")

    # The agent closes (resolves) the conversation.
    agent.get_by_role("button", name="Close the conversation").click()
    agent.locator("#chat-status[data-status='closed']").wait_for(timeout=10_000)
    shot(agent, "path-06-agent-closed")

    # The customer is asked, live, whether it helped; rates 5 with a comment.
    customer.locator("#chat-status[data-status='closed']").wait_for(timeout=10_000)
    rating = customer.locator("#chat-rating form")
    rating.wait_for(timeout=10_000)
    assert customer.locator("#chat-rating h2").inner_text() == "Was this conversation helpful?"
    shot(customer, "path-07-rate-form")
    rating.locator("label", has_text="5").click()
    customer.locator("#chat-rating-comment").fill("Fast and friendly, thank you!")
    customer.get_by_role("button", name="Send my rating").click()
    done = customer.locator("#rating-done")
    done.wait_for(timeout=10_000)
    assert done.inner_text() == "Thank you: you rated this 5 out of 5."
    shot(customer, "path-08-rated")

    async def stored(s: Any) -> list[tuple[int, str | None]]:
        rows = await s.execute(
            select(Rating.score, Rating.comment).where(
                Rating.conversation_id == uuid.UUID(conversation)
            )
        )
        return [tuple(r) for r in rows.all()]

    assert _db_call(server, stored) == [(5, "Fast and friendly, thank you!")]
    # A reload still shows the thanks; the supervisor's reports count the chat rating.
    customer.reload()
    assert customer.locator("#rating-done").inner_text().endswith("5 out of 5.")
    # The chat page offers the closed conversation's transcript (visitors get it too).
    link = customer.locator("#chat-transcript")
    assert (
        link.is_visible() and link.get_attribute("href") == f"/chat/transcript.txt?c={conversation}"
    )
    agent.goto("/console/reports")
    assert "CSAT ratings from live chats:" in agent.locator("#csat-chats").inner_text()
    shot(agent, "path-09-reports")

    # My conversations and tickets: the chat, its transcript.
    customer.get_by_role("link", name="My conversations and tickets").first.click()
    customer.wait_for_url("**/support")
    first = customer.locator("#my-support li").first
    assert first.get_attribute("data-conversation") == conversation
    assert first.locator("a").first.inner_text() == "how do I recharg my wallet"
    shot(customer, "path-10-my-support")
    with customer.expect_download() as download:
        first.get_by_role("link", name="Download transcript").click()
    path = tmp_path / "transcript.txt"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert download.value.suggested_filename.startswith("chat-")
    assert "how do I recharg my wallet" in text and "How to top up your wallet" in text
    assert "The SMS code was ******" in text and "123456" not in text
    assert re.search(r"Agent Zhou \(agent ID QB-\d{6}\)", text)
    assert "Hello, this is Zhou." in text
    first.locator("a").first.click()
    customer.wait_for_url(f"**/support/chats/{conversation}")
    assert customer.locator("#rating-done").is_visible()
    shot(customer, "path-11-chat-history")
    assert script_errors(customer) == []
    assert script_errors(agent) == []
