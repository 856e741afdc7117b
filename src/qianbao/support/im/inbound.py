"""A message from a chat account, in the webhook's transaction (database only, answers queued):

1. a retried push (same MsgId / update_id) is handled once;
2. the welcome (WeChat's ``subscribe``, Telegram's ``/start``), a link code ("绑定 123456",
   ``/link 123456``, ``/start 123456``) — the code never enters a conversation;
3. anything else lands in the live chat as the customer's message: a linked chat account
   writes as the wallet's signed-in customer, any other as a visitor whose hash is keyed with
   the server secret from the channel and the account id. Masking, the bot and the hand-off
   ("人工", ``/human``) are the web chat's own; what the bot and the desk answer goes back
   through ``outbound.relay`` (called when each message is written)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.translations import gettext
from qianbao.support.chat import desk, service
from qianbao.support.chat.service import Config, Customer
from qianbao.support.im import commands, linking, outbound
from qianbao.support.im import repository as repo
from qianbao.support.im.config import ImConfig
from qianbao.support.im.texts import say


@dataclass(frozen=True)
class Incoming:
    channel: str  # wechat, telegram
    peer_id: str  # WeChat openid, Telegram chat id
    external_id: str  # MsgId / update_id: a retry has the same
    text: str | None = None  # None: not a text message
    welcome: bool = False
    locale: str = "zh_CN"


def visitor_hash(cfg: ImConfig, channel: str, peer_id: str) -> bytes:
    key = hashlib.sha256(cfg.visitor_key + b"|im-visitor").digest()
    return hmac.new(key, f"{channel}|{peer_id}".encode(), hashlib.sha256).digest()


async def customer_of(s: Any, cfg: ImConfig, channel: str, peer_id: str, locale: str) -> Customer:
    link = await repo.link_of_peer(s, channel, peer_id)
    if link is not None:
        user_locale = await repo.user_locale(s, link.user_id)
        return Customer(user_id=link.user_id, visitor_hash=None, locale=user_locale or locale)
    return Customer(user_id=None, visitor_hash=visitor_hash(cfg, channel, peer_id), locale=locale)


async def _answer(s: Any, msg: Incoming, body: str, key: str) -> None:
    await outbound.queue(
        s, channel=msg.channel, peer_id=msg.peer_id, body=body, key=f"{msg.channel}:{key}"
    )


async def handle(s: Any, cfg: ImConfig, chat: Config, msg: Incoming) -> str:
    """Returns what happened: duplicate, welcome, linked, wrong, limited, not_text, chat."""
    if not await repo.first_time(s, msg.channel, msg.external_id):
        return "duplicate"
    ref = msg.external_id
    if msg.welcome:
        await _answer(s, msg, say(f"welcome_{msg.channel}", msg.locale), f"welcome:{ref}")
        return "welcome"
    if msg.text is None:
        await _answer(s, msg, say("not_text", msg.locale), f"not_text:{ref}")
        return "not_text"
    command = commands.read(msg.text)
    if command.kind == "start":
        await _answer(s, msg, say(f"welcome_{msg.channel}", msg.locale), f"welcome:{ref}")
        return "welcome"
    if command.kind == "link" and command.code is not None:
        done = await linking.redeem(s, cfg, msg.channel, msg.peer_id, command.code)
        locale = msg.locale
        if done.user_id is not None:
            locale = await repo.user_locale(s, done.user_id) or locale
        key = {"linked": "linked", "wrong": "link_wrong", "limited": "link_limited"}[done.outcome]
        await _answer(s, msg, say(key, locale), f"link:{ref}")
        return done.outcome
    who = await customer_of(s, cfg, msg.channel, msg.peer_id, msg.locale)
    try:
        await _chat(s, chat, who, msg, human=command.kind == "human")
    except DomainError as exc:  # too fast, too long, ...: said to the customer, nothing stored
        text = gettext(who.locale, exc.message, **exc.params)
        await _answer(s, msg, text, f"refused:{ref}")
        return "refused"
    return "chat"


async def _chat(s: Any, chat: Config, who: Customer, msg: Incoming, *, human: bool) -> None:
    now = clock_of(s).now()
    # The conversation first: it must say where it talks before the bot's answer is written.
    conv = await service.current(s, who)
    if conv is None:
        conv = await service._open(s, chat, who)
    await repo.remember_peer(s, conv.id, msg.channel, msg.peer_id, now)
    if conv.channel != msg.channel:
        conv.channel = msg.channel  # answers go where the customer wrote last
        await s.flush()
    assert msg.text is not None
    if human and conv.status == "bot":
        text = service.clean_text(chat, msg.text)
        await service.add_message(s, chat, conv, sender="customer", body=text)
        await desk.handoff(s, chat, conv)
        return
    await service.post_message(s, chat, who, msg.text, conversation_id=conv.id)
