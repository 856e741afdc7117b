"""WeChat and Telegram channels (E8) on a real database, against a local server speaking each
platform's documented API: signatures (good, bad, missing, stale), a DTD refused, retries
handled once, the secret-token header; a recorded WeChat message reaches an agent after the
hand-off and the agent's reply goes back through custom/send (with a token request), and the
same for Telegram's sendMessage; linking with a one-time code; an unlinked sender is a
visitor."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from qianbao.kernel.clock import TestClock
from qianbao.settings import Settings
from qianbao.support.chat.models import ChatConversation, ChatMessage
from qianbao.support.im import linking, outbound, wechat
from qianbao.support.im.config import ImConfig
from qianbao.support.im.fake import FakePlatforms
from qianbao.support.im.models import ImLink, ImOutbound
from tests.conftest import base_settings
from tests.integration.test_chat import agent_online, make_user
from tests.support.secrets import remember

DATA = Path(__file__).resolve().parents[1] / "data" / "im"
AT = datetime(2026, 12, 18, 7, 30, tzinfo=UTC)  # 15:30 China time, a Friday
OPENID = "oWx9k5Zq3dEmoOpenId000001"
TOKEN = "test-wechat-token"
SECRET_HEADER = "test-telegram-secret"
BOT_TOKEN = "777:test-bot-token"
APP_SECRET = "test-wechat-app-secret"
remember(TOKEN, SECRET_HEADER, BOT_TOKEN, APP_SECRET)


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    server = FakePlatforms(wechat_secret=APP_SECRET, telegram_token=BOT_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, fake: FakePlatforms) -> Settings:
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        chat={"opens_at": 0, "closes_at": 24},
        im={
            "backend": "http",
            "wechat_api_base": fake.url,
            "telegram_api_base": fake.url,
            "wechat_token": TOKEN,
            "wechat_app_secret": APP_SECRET,
            "telegram_bot_token": BOT_TOKEN,
            "telegram_secret_token": SECRET_HEADER,
            "outbox_path": tmp_path / "im.jsonl",
        },
    )


@pytest.fixture
async def hooks(app: FastAPI, clock: TestClock) -> Any:
    clock.freeze(AT)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def signed(clock: TestClock, token: str = TOKEN, *, age_s: int = 0) -> dict[str, str]:
    timestamp = str(int(clock.now().timestamp()) - age_s)
    nonce = secrets.token_hex(6)
    return {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": wechat.signature(token, timestamp, nonce),
    }


def wechat_xml(
    text: str | None = None, *, msg_id: int | None = None, sender: str = OPENID, name: str = "text"
) -> bytes:
    raw = (DATA / f"wechat_{name}.xml").read_text(encoding="utf-8")
    if text is not None:
        raw = raw.replace("<![CDATA[我的充值怎么还没到]]>", f"<![CDATA[{text}]]>")
    if msg_id is not None:
        raw = raw.replace("<MsgId>1234567890123456</MsgId>", f"<MsgId>{msg_id}</MsgId>")
    return raw.replace(OPENID, sender).encode()


async def push(c: httpx.AsyncClient, clock: TestClock, body: bytes, **kw: Any) -> httpx.Response:
    return await c.post(
        "/hooks/wechat",
        params=signed(clock, **kw),
        content=body,
        headers={"Content-Type": "text/xml"},
    )


def tg_update(text: str, update_id: int, chat_id: int = 1111111) -> dict[str, Any]:
    data = json.loads((DATA / "telegram_text.json").read_text(encoding="utf-8"))
    data["update_id"] = update_id
    data["message"]["text"] = text
    data["message"]["chat"]["id"] = data["message"]["from"]["id"] = chat_id
    return data


async def tg(c: httpx.AsyncClient, update: dict[str, Any], secret: str | None = SECRET_HEADER):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return await c.post("/hooks/telegram", json=update, headers=headers)


async def rows(app: FastAPI, model: Any, *where: Any) -> list[Any]:
    async with app.state.db.session() as s:
        return list((await s.execute(select(model).where(*where))).scalars().all())


async def count(app: FastAPI, model: Any) -> int:
    async with app.state.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


# -- WeChat: the signature, the XML, retries ---------------------------------------------------
async def test_wechat_server_check(hooks: httpx.AsyncClient, clock: TestClock):
    good = await hooks.get("/hooks/wechat", params={**signed(clock), "echostr": "e123"})
    assert good.status_code == 200 and good.text == "e123"
    bad = {**signed(clock, "another-token"), "echostr": "e123"}
    assert (await hooks.get("/hooks/wechat", params=bad)).status_code == 403
    missing = {"timestamp": "1", "nonce": "n", "echostr": "e123"}
    assert (await hooks.get("/hooks/wechat", params=missing)).status_code == 403
    stale = {**signed(clock, age_s=301), "echostr": "e123"}
    assert (await hooks.get("/hooks/wechat", params=stale)).status_code == 403


async def test_wechat_push_refused_without_a_good_signature(
    app: FastAPI, hooks: httpx.AsyncClient, clock: TestClock
):
    before = await count(app, ChatMessage)
    assert (await push(hooks, clock, wechat_xml(), token="wrong")).status_code == 403
    assert (await push(hooks, clock, wechat_xml(), age_s=3600)).status_code == 403
    r = await hooks.post("/hooks/wechat", content=wechat_xml())
    assert r.status_code == 403
    assert await count(app, ChatMessage) == before
    assert await count(app, ImOutbound) == 0


async def test_wechat_xml_with_a_dtd_is_refused(
    app: FastAPI, hooks: httpx.AsyncClient, clock: TestClock
):
    before = await count(app, ChatMessage)
    r = await push(hooks, clock, (DATA / "wechat_dtd.xml").read_bytes())
    assert r.status_code == 400
    assert await count(app, ChatMessage) == before


async def test_wechat_retries_are_handled_once_and_answered_at_once(
    app: FastAPI, hooks: httpx.AsyncClient, clock: TestClock
):
    for _ in range(4):  # the push and WeChat's three retries
        r = await push(hooks, clock, wechat_xml("how do I top up"))
        assert r.status_code == 200 and r.text == "success"
    (conv,) = await rows(app, ChatConversation, ChatConversation.channel == "wechat")
    assert conv.user_id is None and conv.visitor_hash is not None  # unlinked: a visitor
    msgs = await rows(app, ChatMessage, ChatMessage.conversation_id == conv.id)
    assert [m.sender for m in msgs] == ["customer", "bot"]
    (out,) = await rows(app, ImOutbound)  # the bot's answer, once, to the openid
    assert out.channel == "wechat" and out.peer_id == OPENID and out.status == "pending"
    assert "人工" in out.body


async def test_subscribe_gets_the_welcome(app: FastAPI, hooks: httpx.AsyncClient, clock: TestClock):
    r = await push(hooks, clock, wechat_xml(name="subscribe"))
    assert r.status_code == 200 and r.text == "success"
    (out,) = await rows(app, ImOutbound)
    assert "绑定" in out.body and "人工" in out.body
    r = await push(hooks, clock, wechat_xml(name="image"))
    assert r.status_code == 200
    assert len(await rows(app, ImOutbound)) == 2  # "only text for now"


# -- the Done-when line ------------------------------------------------------------------------
async def test_wechat_message_reaches_an_agent_and_the_reply_goes_back(
    app: FastAPI,
    hooks: httpx.AsyncClient,
    clock: TestClock,
    fake: FakePlatforms,
    settings: Settings,
):
    agent, headers = await agent_online(app, 2, "王芳")
    assert (await push(hooks, clock, wechat_xml())).status_code == 200
    assert (await push(hooks, clock, wechat_xml("人工", msg_id=2))).status_code == 200
    (conv,) = await rows(app, ChatConversation, ChatConversation.channel == "wechat")
    assert conv.status == "assigned" and conv.agent_id == agent.id
    listed = (await hooks.get("/api/v1/chat/agent/conversations", headers=headers)).json()
    assert str(conv.id) in json.dumps(listed)
    r = await hooks.post(
        f"/api/v1/chat/agent/conversations/{conv.id}/messages",
        json={"text": "您好，充值一般几分钟到账，我帮您查一下。"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert await outbound.send_due(app.state.db, settings, clock) >= 3
    assert len(fake.received("/cgi-bin/token")) == 1  # cached for the other sends
    sends = fake.received("/cgi-bin/message/custom/send")
    assert all(s["json"]["touser"] == OPENID and s["json"]["msgtype"] == "text" for s in sends)
    texts = [s["json"]["text"]["content"] for s in sends]
    assert texts[-1].startswith("王芳") and "您好，充值一般几分钟到账" in texts[-1]
    assert any("王芳" in t and "工号" in t for t in texts[:-1])  # "assigned" went out too
    sent = await rows(app, ImOutbound, ImOutbound.conversation_id == conv.id)
    assert {o.status for o in sent} == {"sent"}
    # Nothing is sent twice; an expired token is fetched again.
    assert await outbound.send_due(app.state.db, settings, clock) == 0
    fake.expire_tokens()
    await hooks.post(
        f"/api/v1/chat/agent/conversations/{conv.id}/messages",
        json={"text": "已经到账了。"},
        headers=headers,
    )
    assert await outbound.send_due(app.state.db, settings, clock) == 1
    assert len(fake.received("/cgi-bin/token")) == 2
    assert fake.received("/cgi-bin/message/custom/send")[-1]["status"] == 200


async def test_telegram_message_reaches_an_agent_and_the_reply_goes_back(
    app: FastAPI,
    hooks: httpx.AsyncClient,
    clock: TestClock,
    fake: FakePlatforms,
    settings: Settings,
):
    assert (await tg(hooks, tg_update("hello", 1), secret=None)).status_code == 403
    assert (await tg(hooks, tg_update("hello", 1), secret="wrong")).status_code == 403
    assert await count(app, ChatMessage) == 0
    _, headers = await agent_online(app, 2, "Li Na")
    assert (await tg(hooks, tg_update("I did not receive the SMS code", 10))).status_code == 200
    assert (await tg(hooks, tg_update("I did not receive the SMS code", 10))).status_code == 200
    assert (await tg(hooks, tg_update("/human", 11))).status_code == 200
    (conv,) = await rows(app, ChatConversation, ChatConversation.channel == "telegram")
    assert conv.status == "assigned" and conv.locale == "en"
    msgs = await rows(app, ChatMessage, ChatMessage.conversation_id == conv.id)
    assert [m.sender for m in msgs].count("customer") == 2  # the retried update once
    r = await hooks.post(
        f"/api/v1/chat/agent/conversations/{conv.id}/messages",
        json={"text": "Let me resend it for you."},
        headers=headers,
    )
    assert r.status_code == 201
    await outbound.send_due(app.state.db, settings, clock)
    sends = fake.received(f"/bot{BOT_TOKEN}/sendMessage")
    assert all(s["json"]["chat_id"] == "1111111" for s in sends)
    assert sends[-1]["json"]["text"].startswith("Li Na (agent ID QB-")
    assert sends[-1]["json"]["text"].endswith("Let me resend it for you.")
    assert any("/human" in s["json"]["text"] for s in sends)  # the bot says how to reach a person


# -- linking -----------------------------------------------------------------------------------
async def test_linking_with_a_one_time_code(
    app: FastAPI, hooks: httpx.AsyncClient, clock: TestClock, settings: Settings
):
    user, _ = await make_user(app, name="张三")
    cfg = ImConfig.of(settings)
    async with app.state.db.transaction() as s:
        code = (await linking.new_code(s, cfg, user.id)).code
    wrong = "000000" if code != "000000" else "111111"
    assert (await push(hooks, clock, wechat_xml(f"绑定 {wrong}", msg_id=1))).status_code == 200
    assert await rows(app, ImLink) == []
    assert (await push(hooks, clock, wechat_xml(f"绑定 {code}", msg_id=2))).status_code == 200
    (link,) = await rows(app, ImLink)
    assert link.user_id == user.id and link.channel == "wechat" and link.peer_id == OPENID
    # The code never entered a conversation, and works once.
    assert all(code not in m.body for m in await rows(app, ChatMessage))
    other = "oOtherOpenId00000000002"
    await push(hooks, clock, wechat_xml(f"bind {code}", msg_id=3, sender=other))
    assert len(await rows(app, ImLink)) == 1
    # A linked account writes as the signed-in customer.
    await push(hooks, clock, wechat_xml("我的充值怎么还没到", msg_id=4))
    (conv,) = await rows(app, ChatConversation, ChatConversation.user_id == user.id)
    assert conv.verified and conv.channel == "wechat"
    # Expired codes are refused.
    async with app.state.db.transaction() as s:
        late = (await linking.new_code(s, cfg, user.id)).code
    clock.advance(seconds=settings.im.link_code_ttl_s + 1)
    await push(hooks, clock, wechat_xml(f"绑定 {late}", msg_id=5, sender=other))
    assert len(await rows(app, ImLink)) == 1
    bodies = [o.body for o in await rows(app, ImOutbound, ImOutbound.peer_id == other)]
    assert len(bodies) == 2 and all(b.startswith("验证码错误、已过期或已使用") for b in bodies)


async def test_link_attempts_are_limited(
    app: FastAPI, hooks: httpx.AsyncClient, clock: TestClock, settings: Settings
):
    user, _ = await make_user(app, name="李梅")
    async with app.state.db.transaction() as s:
        code = (await linking.new_code(s, ImConfig.of(settings), user.id)).code
    guesses = [f"{n:06d}" for n in range(10) if f"{n:06d}" != code][: settings.im.link_max_attempts]
    for i, guess in enumerate(guesses):
        await tg(hooks, tg_update(f"/link {guess}", 100 + i))
    assert (await tg(hooks, tg_update(f"/start {code}", 200))).status_code == 200
    assert await rows(app, ImLink) == []  # even the right code: paused
    last = (await rows(app, ImOutbound))[-1]
    assert "Too many wrong codes" in last.body
    clock.advance(seconds=settings.im.link_attempts_window_s + 1)
    async with app.state.db.transaction() as s:
        code = (await linking.new_code(s, ImConfig.of(settings), user.id)).code
    await tg(hooks, tg_update(f"/start {code}", 201))
    (link,) = await rows(app, ImLink)
    assert link.channel == "telegram" and link.peer_id == "1111111"


async def test_outbound_waits_for_the_worker_and_dev_backend_writes_the_outbox(
    app: FastAPI, hooks: httpx.AsyncClient, clock: TestClock, settings: Settings, tmp_path: Path
):
    await push(hooks, clock, wechat_xml(name="subscribe"))
    dev = settings.model_copy(deep=True)
    dev.im.backend = "dev"
    assert await outbound.send_due(app.state.db, dev, clock) == 1
    (line,) = (tmp_path / "im.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["channel"] == "wechat" and record["to"] == OPENID and "绑定" in record["text"]
    clock.advance(minutes=1)
    assert await outbound.send_due(app.state.db, dev, clock) == 0
