"""The bot that answers, in chromium on a phone (375 px), at a China night hour (the clock
pinned): signed in as a customer with a pending top-up (made by the real top-up service), typing
"我的充值怎么还没到" shows its amount and the time it was started, then the article; a visitor's
nonsense gets "nothing fits"; a tie shows two choice buttons and the first one answers (en)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.identity import pin
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.money import Money
from qianbao.rails.factory import acquirers
from qianbao.wallet import cards, topup
from qianbao.wallet.banks import recognise_card
from tests.conftest import DatabaseFactory, in_thread
from tests.support.identity import e164
from tests.support.pages import no_sideways_scroll, rules_off_ctx, script_errors, shot, sign_up
from tests.support.wallet import CARD_OK, PIN
from tests.web.conftest import page_opener, pages_server, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def night(db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A live server of its own: its clock is pinned at a night hour by these tests."""
    with pages_server(db_factory, tmp_path_factory.mktemp("chat-bot")) as server:
        yield server


@pytest.fixture
def open_night_page(browser: Any, night: Any) -> Iterator[Callable[..., Any]]:
    yield from page_opener(browser, night)


def pending_top_up(server: Any, phone: str, amount: str) -> str:
    """PIN, a bound card and a card top-up started through the top-up service (the customer
    has not confirmed it at the bank): its id."""

    async def go() -> str:
        db = server.database()
        try:
            ctx = rules_off_ctx(server, db)
            async with db.transaction() as s:
                user = await id_accounts.by_phone(s, e164(phone))
                assert user is not None
                await pin.set_pin(s, ctx, user, PIN)
                recognised = recognise_card(CARD_OK)
                assert recognised is not None
                card = await cards.store(s, ctx, user, recognised, "测试用户")
            async with db.transaction() as s:
                user = await id_accounts.by_phone(s, e164(phone))
                started, _ = await topup.start(
                    s,
                    ctx,
                    acquirers(server.app.state.settings).for_method("card"),
                    user,
                    card_id=str(card.id),
                    amount=Money.parse(amount, "CNY"),
                    pin=PIN,
                    key="chat-bot-page-topup",
                    site=server.url,
                )
                return str(started.id)
        finally:
            await db.dispose()

    return in_thread(asyncio.run, go())


def chat_fits(page: Any) -> None:
    """Nothing of the chat is wider than the phone (the answer's cards, facts and buttons)."""
    width = page.viewport_size["width"]
    wide = page.evaluate(
        "w => [...document.querySelectorAll('#chat *')]"
        ".filter(e => e.getBoundingClientRect().right > w + 0.5).map(e => e.className)",
        width,
    )
    assert wide == []


def ask(page: Any, text: str) -> Any:
    """Type a question and wait for the bot's answer to it: the newest bot message."""
    before = page.locator(".chat-msg.chat-bot").count()
    page.locator("#chat-text").fill(text)
    page.locator("#chat-text").press("Enter")
    page.locator(".chat-msg.chat-bot").nth(before).wait_for()
    return page.locator(".chat-msg.chat-bot").nth(before)


def test_a_pending_top_up_is_answered_from_the_wallet(open_night_page, night):
    at = datetime.combine(night.clock.today() + timedelta(days=1), time(23, 9), tzinfo=LOCAL_TZ)
    night.clock.freeze(at)
    page = open_night_page(locale="zh_CN")
    phone = sign_up(page, night, "zh_CN")
    topup_id = pending_top_up(night, phone, "100.00")

    page.goto("/chat")
    answer = ask(page, "我的充值怎么还没到")
    wallet = answer.locator(".chat-wallet")
    assert wallet.locator(".chat-card-title").inner_text() == "您正在处理的充值"
    facts = wallet.locator(".chat-facts").inner_text()
    assert "¥100.00" in facts and "中国工商银行 •••• 4242" in facts
    assert f"{at:%Y}年{at.month}月{at.day}日 23:09" in facts  # started, China time
    assert f"{at.month}月{at.day}日 23:39" in facts  # expires after 30 minutes
    assert wallet.locator(f"a[href='/wallet/topup/{topup_id}']").inner_text() == "查看这笔充值"
    article = answer.locator(".chat-answer .chat-card-title")
    assert article.get_attribute("href") == "/help/topup-not-arrived"
    chat_fits(page)
    no_sideways_scroll(page)
    shot(page, "chat-bot-wallet-zh_CN")
    # The same after a reload (rendered by the page, not by the script).
    page.reload()
    again = page.locator(".chat-msg.chat-bot .chat-wallet").last
    assert "¥100.00" in again.locator(".chat-facts").inner_text()
    wallet.locator(f"a[href='/wallet/topup/{topup_id}']").click()
    page.wait_for_url(f"**/wallet/topup/{topup_id}")
    assert script_errors(page) == []


def test_nonsense_and_a_clarifying_question(open_night_page, night):
    page = open_night_page(locale="en")
    page.goto("/chat")
    none = ask(page, "<script>alert(1)</script>")
    assert none.locator(".chat-text").inner_text().startswith("I could not find a help article")
    assert page.locator("#chat-handoff").is_visible()  # a person, offered
    assert page.evaluate("typeof window.__pwned") == "undefined"

    tie = ask(page, "transfer fee")
    assert tie.locator(".chat-text").inner_text() == "Which of these do you mean? Reply 1 or 2."
    buttons = tie.locator("button.chat-choice")
    assert buttons.count() == 2
    first = buttons.nth(0).inner_text()
    assert first.startswith("1. ")
    chat_fits(page)
    screenshot(page, "chat-bot-clarify-en")
    buttons.nth(0).click()
    page.locator(".chat-msg.mine .chat-text", has_text=first).wait_for()
    picked = page.locator(".chat-msg.chat-bot").last
    picked.locator(".chat-answer").wait_for()
    assert picked.locator(".chat-answer .chat-card-title").inner_text() == first[3:]
    assert picked.locator(".chat-steps li").count() >= 1
    assert script_errors(page) == []
