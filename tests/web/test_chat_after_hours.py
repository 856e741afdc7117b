"""No dead ends after hours, in chromium, in Chinese on a 375 px phone, at 23:09 China time (the
desk calendar: 08:00–22:00 every day): the chat says the hours and the reply to expect before
"转人工客服"; a visitor books a call-back slot (the calendar's next openings) which the chat
confirms and the console's call-back list shows with the slot; a signed-in customer's chat turns
into a ticket due when the desk promises (tomorrow 08:30, not the SLA's next afternoon); after a
reload the ended chat is still there, read-only, with "开始新的对话"."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.support.chat.texts import when
from tests.conftest import DatabaseFactory, _run
from tests.support.pages import script_errors, shot
from tests.web.conftest import page_opener, pages_server
from tests.web.test_chat_pages import signed_in, ticket_due, web_user

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def night(db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with pages_server(db_factory, tmp_path_factory.mktemp("after-hours")) as server:
        yield server


@pytest.fixture
def open_night_page(browser: Any, night: Any) -> Iterator[Callable[..., Any]]:
    yield from page_opener(browser, night)


def test_at_23_09_the_chat_offers_a_call_back_slot_or_an_honest_ticket(open_night_page, night):
    server, open_page = night, open_night_page
    day = server.clock.today() + timedelta(days=1)
    at = datetime.combine(day, time(23, 9), tzinfo=LOCAL_TZ)
    server.clock.freeze(at)
    tomorrow = day + timedelta(days=1)

    # A visitor: the hours and the promise above the hand-off, then a call-back slot.
    visitor = open_page(locale="zh_CN")
    visitor.goto("/chat")
    hours = visitor.locator("#chat-hours").inner_text()
    assert hours == "人工客服 每天 08:00–22:00（北京时间）· 现在已下班，预计明天 08:30 前回复"
    box = visitor.locator("#chat-hours").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    options = visitor.locator("#chat-slot option").all_inner_texts()
    assert options[:2] == ["明天 08:00–09:00", "明天 09:00–10:00"]
    visitor.locator("#chat-slot").select_option(f"{tomorrow:%Y-%m-%d}T09:00")
    visitor.locator("#chat-phone").fill("139 0013 9000")
    shot(visitor, "chat-after-hours-slots-zh")
    visitor.get_by_role("button", name="预约回电").click()
    visitor.locator("#chat-callback-booked").wait_for()
    booked = visitor.locator("#chat-callback-booked").inner_text()
    assert "09:00 起" in booked and "+86 139****9000" in booked
    confirm = visitor.locator(".chat-system .chat-text").last.inner_text()
    assert confirm.startswith("已预约回电：我们将在 ") and "拨打 +86 139****9000" in confirm

    # The console's call-back list shows it with its slot.
    agent = open_page(locale="zh_CN", viewport="desktop")
    signed_in(agent, server, web_user(server, role="support_agent", name="早班客服"))
    agent.goto("/console/callbacks")
    row = agent.locator("#callbacks tbody tr").filter(has_text="+8613900139000")
    assert "09:00 起" in row.inner_text() and "访客（未登录）" in row.inner_text()

    # A signed-in customer asks for a person: a ticket due tomorrow 08:30.
    customer = open_page(locale="zh_CN")
    signed_in(customer, server, web_user(server, role="user", name="韩梅梅"))
    customer.goto("/chat")
    customer.locator("#chat-text").fill("我的充值怎么还没到")
    customer.locator("#chat-text").press("Enter")
    customer.locator(".chat-bot:not(.chat-welcome)").first.wait_for()
    assert customer.locator("#chat-hours").is_visible()
    customer.get_by_role("button", name="转人工客服").click()
    customer.wait_for_function(
        "() => [...document.querySelectorAll('.chat-system .chat-text')]"
        ".some(e => e.textContent.includes('转为工单'))",
        timeout=30_000,
    )
    text = customer.locator(".chat-system .chat-text").last.inner_text()
    found = re.search(r"工单 (T\d{8}-\d{6})。预计 (.+) 前回复您", text)
    assert found, text
    due = _run(ticket_due(server, found.group(1)))
    assert due == datetime.combine(tomorrow, time(8, 30), tzinfo=LOCAL_TZ)
    assert found.group(2) == when(due, "zh_CN")

    # After a reload the ended chat is still there, read-only, with "开始新的对话".
    customer.reload()
    ended = customer.locator("#chat-ended")
    assert "我的充值怎么还没到" in ended.inner_text() and found.group(1) in ended.inner_text()
    shot(customer, "chat-after-hours-ended-zh")
    customer.get_by_role("link", name="开始新的对话").click()
    customer.wait_for_url("**/chat?new=1*")
    assert customer.locator("#chat-ended").count() == 0
    assert script_errors(customer) == [] and script_errors(visitor) == []
