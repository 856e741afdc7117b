"""The chat bot that answers (issue 20): an article's steps inline, "nothing fits" with a person
offered, one clarifying question on a tie (answered with "1"), and — signed in — "where is my
money" answered from the customer's own wallet: a pending top-up made by the real top-up service
(its amount and time, China time on a pinned clock), a withdrawal's stage and date, a locked
PIN, nothing pending; a visitor gets the article and "sign in"; another user's top-up is never
shown. The message body is the whole answer as plain text (WeChat / Telegram get only that)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from qianbao.kernel.clock import LOCAL_TZ, TestClock
from qianbao.settings import Settings
from qianbao.support.chat.bot_intents import intents
from tests.conftest import base_settings
from tests.support.identity import bearer
from tests.support.wallet import CARD_OK, PIN, bind_card, key, ready_user, withdraw

AT = datetime(2026, 12, 18, 23, 9, tzinfo=LOCAL_TZ)  # a China night hour


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        email={"backend": "file", "outbox_dir": tmp_path / "mail"},
        payments={
            "payout_outbox_path": tmp_path / "payouts.jsonl",
            "sandbox_secret": "test-sandbox-signing-key",
        },
    )


async def ask(
    client: httpx.AsyncClient, text: str, *, token: str | None = None, locale: str = "zh-CN"
) -> dict[str, Any]:
    """Write in the chat (signed in with a bearer token, or as a visitor); the bot's answer."""
    headers = {"Accept-Language": locale, **(bearer(token) if token else {})}
    if token is None:
        page = await client.get("/chat", headers=headers)
        import re

        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found
        headers["X-CSRF-Token"] = found.group(1)
    r = await client.post("/api/v1/chat/messages", json={"text": text}, headers=headers)
    assert r.status_code == 201, r.text
    bot = r.json()["messages"][-1]
    assert bot["sender"] == "bot"
    return bot


async def body_of(app: FastAPI, message_id: int) -> str:
    from qianbao.support.chat.models import ChatMessage

    async with app.state.db.session() as s:
        msg = await s.get(ChatMessage, message_id)
        assert msg is not None
        return msg.body


async def top_up(client: httpx.AsyncClient, token: str, card: str, amount: str) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/wallet/topups",
        json={"card_id": card, "amount": amount, "currency": "CNY", "pin": PIN},
        headers={**bearer(token), **key()},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_clear_question_gets_the_steps_inline(fresh_client, fresh_app):
    bot = await ask(fresh_client, "支付密码锁了怎么解锁")
    b = bot["bot"]
    assert b["kind"] == "answer" and bot["handoff"] is True
    assert b["article"]["url"] == "/help/pin-locked"
    assert len(b["article"]["steps"]) >= 2 and "登录密码" in " ".join(b["article"]["steps"])
    assert {"label": "安全中心", "url": "/security/pin"} in b["article"]["links"]
    assert all(r["url"].startswith("/help/") for r in b["related"])
    # The body alone is the whole answer (for WeChat / Telegram): steps and the link.
    body = await body_of(fresh_app, bot["id"])
    assert "1. " in body and "2. " in body and "/help/pin-locked" in body


@pytest.mark.parametrize(
    "nonsense", ["<script>alert(1)</script>", "asdfgh", "😀😀😀", "xyzzy qwertyuiop", "？？？"]
)
async def test_nonsense_says_nothing_fits_and_offers_a_person(fresh_client, nonsense):
    bot = await ask(fresh_client, nonsense)
    assert bot["bot"]["kind"] == "none" and bot["handoff"] is True
    assert bot["text"].startswith("没有找到相关的帮助文章")
    assert bot["bot"]["article"] is None and bot["articles"] == []


async def test_a_tie_asks_one_question_and_1_continues(fresh_client, fresh_app):
    bot = await ask(fresh_client, "transfer fee", locale="en")
    b = bot["bot"]
    assert b["kind"] == "clarify" and b["interactive"] is True
    assert [c["n"] for c in b["choices"]] == [1, 2]
    slugs = [c["url"] for c in b["choices"]]
    assert len(set(slugs)) == 2
    body = await body_of(fresh_app, bot["id"])
    assert "Reply 1 or 2" in body and f"1. {b['choices'][0]['title']}" in body
    # "1" picks the first: its steps inline; then a new question is a question again.
    picked = await ask(fresh_client, "1", locale="en")
    assert picked["bot"]["kind"] == "answer"
    assert picked["bot"]["article"]["url"] == b["choices"][0]["url"]
    again = await ask(fresh_client, "1", locale="en")
    assert again["bot"]["kind"] != "answer" or again["bot"]["article"]["url"] != slugs[0]


async def test_a_tie_answered_with_the_choice_button_text(fresh_client):
    bot = await ask(fresh_client, "transfer fee", locale="en")
    second = bot["bot"]["choices"][1]
    picked = await ask(fresh_client, f"2. {second['title']}", locale="en")
    assert picked["bot"]["article"]["url"] == second["url"]


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("我的充值怎么还没到", ["topup"]),
        ("充值没到账", ["topup"]),
        ("where is my top-up", ["topup"]),
        ("chongzhi mei daozhang", ["topup"]),
        ("withdrawal not arrived", ["withdrawal"]),
        ("提现多久到账", ["withdrawal"]),
        ("tixian duojiu daozhang", ["withdrawal"]),
        ("为什么冻结", ["held"]),
        ("why is my transfer on hold", ["held"]),
        ("支付密码锁了", ["pin"]),
        ("my PIN is locked", ["pin"]),
        ("怎么充值", []),
        ("how do I withdraw", []),
    ],
)
def test_where_is_my_money_intents(question, wanted):
    assert intents(question) == wanted


async def test_signed_in_pending_top_up_is_answered_with_its_amount_and_time(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    clock.freeze(AT)
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    started = await top_up(fresh_client, token, card, "100.00")
    clock.advance(minutes=3)

    bot = await ask(fresh_client, "我的充值怎么还没到", token=token)
    b = bot["bot"]
    assert b["kind"] == "wallet" and bot["text"] == "您钱包里的情况："
    (item,) = b["wallet"]
    facts = {f["label"]: f["value"] for f in item["facts"]}
    assert facts["金额"] == "¥100.00"
    assert facts["开始时间"] == "2026年12月18日 23:09"
    assert facts["失效时间"] == "2026年12月18日 23:39"
    assert facts["支付方式"] == "中国工商银行 •••• 4242"  # the bank named in Chinese
    assert {"label": "查看这笔充值", "url": f"/wallet/topup/{started['id']}"} in item["links"]
    assert b["article"]["url"] == "/help/topup-not-arrived"  # then the article
    body = await body_of(fresh_app, bot["id"])
    assert "¥100.00" in body and "23:09" in body and f"/wallet/topup/{started['id']}" in body

    # Another customer asking the same never sees it: they have nothing pending.
    _, other, _ = await ready_user(fresh_client, fresh_app)
    theirs = await ask(fresh_client, "我的充值怎么还没到", token=other)
    (item,) = theirs["bot"]["wallet"]
    assert item["title"] == "您没有正在处理的充值。"
    shown = str(theirs) + await body_of(fresh_app, theirs["id"])
    assert "¥100.00" not in shown and started["id"] not in shown
    assert "您还没有这类交易。" in item["notes"]


async def test_nothing_pending_says_so_with_the_latest(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    clock.freeze(AT)
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    await top_up(fresh_client, token, card, "88.00")
    clock.advance(hours=2)
    async with fresh_app.state.db.transaction() as s:
        from qianbao.wallet import topup

        assert await topup.expire_stale(s, 30) == 1  # the worker's job: it expired
    bot = await ask(fresh_client, "where is my top-up", token=token, locale="en")
    (item,) = bot["bot"]["wallet"]
    assert item["title"] == "You have no top-up in progress."
    assert any("¥88.00" in n and "Failed" in n for n in item["notes"])
    assert any("QB" in n for n in item["notes"])  # the bank transfer's memo code
    assert {"label": "Top up by bank transfer", "url": "/wallet/bank-transfer"} in item["links"]


async def test_a_withdrawal_stage_and_expected_date(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    clock.freeze(AT)
    phone, token, _ = await ready_user(fresh_client, fresh_app, minor=500_00)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    r = await withdraw(fresh_client, fresh_app, phone, token, card, "120.00")
    assert r.status_code == 201, r.text
    w = r.json()
    bot = await ask(fresh_client, "withdrawal not arrived", token=token, locale="en")
    (item,) = bot["bot"]["wallet"]
    facts = {f["label"]: f["value"] for f in item["facts"]}
    assert facts["Amount"] == "CN¥120.00"  # as the pages write it in English
    assert facts["Requested at"] == "Dec 18, 2026 11:09\u202fPM"  # China time
    assert facts["Status"] in ("Approved", "Waiting for review", "Sent to the bank")
    assert facts["Expected arrival"].startswith("Dec ") and "2026" in facts["Expected arrival"]
    assert {"label": "Follow this withdrawal", "url": f"/wallet/withdrawals/{w['id']}"} in item[
        "links"
    ]


async def test_a_locked_pin(fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock):
    clock.freeze(AT)
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    bot = await ask(fresh_client, "支付密码锁了", token=token)
    assert bot["bot"]["wallet"][0]["title"] == "您的支付密码没有被锁定。"
    for _ in range(5):
        r = await fresh_client.post(
            "/api/v1/wallet/topups",
            json={"card_id": card, "amount": "10.00", "currency": "CNY", "pin": "111222"},
            headers={**bearer(token), **key()},
        )
        assert r.status_code in (401, 403), r.text  # wrong, then locked
    bot = await ask(fresh_client, "支付密码锁了", token=token)
    (item,) = bot["bot"]["wallet"]
    assert item["title"] == "您的支付密码已被锁定"
    assert {"label": "锁定时间", "value": "2026年12月18日 23:09"} in item["facts"]
    assert item["links"][0]["url"] == "/security/pin"


async def test_a_visitor_gets_the_article_and_a_sign_in_hint(fresh_client):
    bot = await ask(fresh_client, "我的充值怎么还没到")
    b = bot["bot"]
    assert b["kind"] == "answer" and b["wallet"] == []
    assert b["article"]["url"] == "/help/topup-not-arrived" and b["article"]["steps"]
    assert b["hint"]["url"] == "/login?next=/chat" and "登录" in b["hint"]["text"]
