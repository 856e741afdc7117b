"""The customer's side of the live chat: the open conversation of a signed-in customer or a
visitor, messages (masked before they are stored), the bot's first answer with help articles,
"talk to a person", images, read marks and typing.

Every write announces itself on the conversation's NOTIFY channel in the same transaction."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from qianbao.kernel.clock import Clock, system_clock
from qianbao.kernel.text import plain_text
from qianbao.support import desk_calendar
from qianbao.support.chat import hub
from qianbao.support.chat import repository as repo
from qianbao.support.chat.errors import (
    AttachmentInvalid,
    ConversationClosed,
    ConversationNotFound,
    MessageInvalid,
    TooFast,
)
from qianbao.support.chat.hours import Hours
from qianbao.support.chat.masking import mask
from qianbao.support.chat.models import ChatAttachment, ChatConversation, ChatMessage

RATE_WITHIN = timedelta(days=1)
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"


@dataclass
class Config:
    """What the chat needs from the settings, read once per request."""

    max_message_chars: int = 2000
    max_image_bytes: int = 2_000_000
    default_capacity: int = 3
    max_capacity: int = 10
    queue_reply_minutes: int = 30
    bot_articles: int = 3
    max_messages_per_minute: int = 20
    presence_ttl_s: int = 90
    abandon_after_s: int = 300
    hours: Hours = field(
        default_factory=lambda: Hours.of(opens_at=0, closes_at=24, business_days_only=False)
    )
    clock: Clock = field(default=system_clock)
    settings: Any = None  # the whole Settings (the tickets package takes it)

    @classmethod
    def of(cls, settings: Any, clock: Clock) -> Config:
        chat = settings.chat
        return cls(
            max_message_chars=chat.max_message_chars,
            max_image_bytes=chat.max_image_bytes,
            default_capacity=chat.default_capacity,
            max_capacity=chat.max_capacity,
            queue_reply_minutes=chat.queue_reply_minutes,
            bot_articles=chat.bot_articles,
            max_messages_per_minute=chat.max_messages_per_minute,
            presence_ttl_s=chat.presence_ttl_s,
            abandon_after_s=chat.abandon_after_s,
            hours=desk_calendar.from_settings(settings),  # the one calendar
            clock=clock,
            settings=settings,
        )

    def now(self) -> datetime:
        return self.clock.now()


@dataclass(frozen=True)
class Customer:
    """Who writes: a signed-in user (from the wallet session, never from the widget) or a
    visitor (the hash of the signed visitor cookie's token)."""

    user_id: uuid.UUID | None
    visitor_hash: bytes | None
    locale: str = "zh_CN"

    @property
    def verified(self) -> bool:
        return self.user_id is not None


def human_size(n: int) -> str:
    return f"{n / 1_000_000:.0f} MB" if n >= 1_000_000 else f"{n // 1000} KB"


async def current(s: Any, who: Customer) -> ChatConversation | None:
    if who.user_id is not None:
        return await repo.open_of_user(s, who.user_id)
    if who.visitor_hash is not None:
        return await repo.open_of_visitor(s, who.visitor_hash)
    return None


async def recently_closed(s: Any, cfg: Config, who: Customer) -> ChatConversation | None:
    """The customer's (or visitor's) last conversation when it closed within a day (the chat
    page offers its transcript, and signed-in customers can rate it)."""
    if who.user_id is not None:
        conv = await repo.latest_closed_of_user(s, who.user_id)
    elif who.visitor_hash is not None:
        conv = await repo.latest_closed_of_visitor(s, who.visitor_hash)
    else:
        return None
    if conv is None or conv.closed_at is None or cfg.now() - conv.closed_at > RATE_WITHIN:
        return None
    return conv


async def of_user(s: Any, user_id: uuid.UUID) -> list[tuple[ChatConversation, str]]:
    """A signed-in customer's conversations, newest first, each with its first question."""
    convs = list(await repo.of_user(s, user_id))
    titles = await repo.first_customer_texts(s, [c.id for c in convs])
    return [(c, titles.get(c.id, "")) for c in convs]


def _owns(who: Customer, conv: ChatConversation) -> bool:
    if who.user_id is not None:
        return conv.user_id == who.user_id
    return who.visitor_hash is not None and conv.visitor_hash == who.visitor_hash


async def owned(
    s: Any, who: Customer, conversation_id: uuid.UUID, *, lock: bool = False
) -> ChatConversation:
    """The caller's conversation; anyone else's is 'not found' (we never say whose)."""
    conv = await repo.conversation(s, conversation_id, lock=lock)
    if conv is None or not _owns(who, conv):
        raise ConversationNotFound()
    return conv


async def _open(s: Any, cfg: Config, who: Customer) -> ChatConversation:
    conv = await current(s, who)
    if conv is not None:
        return conv
    conv = ChatConversation(
        user_id=who.user_id,
        visitor_hash=None if who.user_id is not None else who.visitor_hash,
        verified=who.user_id is not None,
        locale=who.locale,
        status="bot",
        created_at=cfg.now(),
    )
    if conv.user_id is None and conv.visitor_hash is None:
        raise ConversationNotFound()
    try:
        async with s.begin_nested():  # one open conversation per customer (unique index)
            s.add(conv)
            await s.flush()
    except IntegrityError:
        # The same customer's other first message won the race: use its conversation.
        found = await current(s, who)
        if found is None:
            raise
        return found
    return conv


async def add_message(
    s: Any,
    cfg: Config,
    conv: ChatConversation,
    *,
    sender: str,
    body: str = "",
    masked: bool = False,
    data: dict[str, Any] | None = None,
    author_id: uuid.UUID | None = None,
    attachment_id: uuid.UUID | None = None,
) -> ChatMessage:
    msg = ChatMessage(
        conversation_id=conv.id,
        sender=sender,
        body=body,
        masked=masked,
        data=data,
        author_id=author_id,
        attachment_id=attachment_id,
        created_at=cfg.now(),
    )
    s.add(msg)
    await s.flush()
    await hub.publish(
        s, hub.conversation_channel(conv.id), {"t": "m", "c": str(conv.id), "id": msg.id}
    )
    if sender in ("bot", "system") and conv.channel != "web":
        from qianbao.support.im.outbound import relay  # WeChat / Telegram (agents: replied.py)

        await relay(s, conv, msg, cfg.settings.http.site_url() if cfg.settings else "")
    return msg


async def system_message(
    s: Any, cfg: Config, conv: ChatConversation, key: str, **params: Any
) -> ChatMessage:
    from qianbao.support.chat.texts import say

    return await add_message(
        s,
        cfg,
        conv,
        sender="system",
        body=say(key, params, conv.locale),
        data={"key": key, "params": params},
    )


def clean_text(cfg: Config, text: str) -> str:
    text = plain_text(text)
    if not text or len(text) > cfg.max_message_chars:
        raise MessageInvalid(limit=cfg.max_message_chars)
    return text


async def _check_pace(s: Any, cfg: Config, conv: ChatConversation) -> None:
    """At most ``max_messages_per_minute`` messages and images from the customer per
    conversation and minute (the conversation row is locked, so this holds under concurrency):
    a flood costs storage, the agent's attention and every listener's bandwidth."""
    if cfg.max_messages_per_minute <= 0:
        return
    await repo.conversation(s, conv.id, lock=True)  # one writer at a time counts
    since = cfg.now() - timedelta(seconds=60)
    if await repo.customer_messages_since(s, conv.id, since) >= cfg.max_messages_per_minute:
        raise TooFast()


async def post_message(
    s: Any,
    cfg: Config,
    who: Customer,
    text: str,
    *,
    conversation_id: uuid.UUID | None = None,
) -> tuple[ChatConversation, list[ChatMessage]]:
    """The customer writes. Checked before anything is stored; codes, PINs and card numbers are
    masked first (and the customer warned); in the bot state the bot answers."""
    text = clean_text(cfg, text)
    if conversation_id is not None:
        conv = await owned(s, who, conversation_id, lock=True)
        if conv.status == "closed":
            raise ConversationClosed()
    else:
        conv = await _open(s, cfg, who)
    await _check_pace(s, cfg, conv)
    hidden = mask(text)
    out = [
        await add_message(s, cfg, conv, sender="customer", body=hidden.text, masked=hidden.masked)
    ]
    if hidden.masked:
        out.append(await system_message(s, cfg, conv, "masked"))
    if conv.status == "bot":
        out.append(await bot_answer(s, cfg, conv, hidden.text))
    return conv, out


async def bot_answer(s: Any, cfg: Config, conv: ChatConversation, question: str) -> ChatMessage:
    """The bot's answer (``chat.bot``): the article's steps inline, the customer's own wallet
    for "where is my money", one clarifying question on a tie, or "nothing fits"."""
    from qianbao.support.chat import bot

    body, data = await bot.answer(s, cfg, conv, question)
    return await add_message(s, cfg, conv, sender="bot", body=body, data=data)


def sniff_image(data: bytes) -> str | None:
    if data.startswith(PNG) and data[12:16] == b"IHDR":
        return "image/png"
    if data.startswith(JPEG) and data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "image/jpeg"
    return None


async def post_image(
    s: Any, cfg: Config, who: Customer, conversation_id: uuid.UUID | None, data: bytes
) -> tuple[ChatConversation, ChatMessage]:
    """An image from the customer: PNG or JPEG by its content (not its name or declared type),
    at most ``max_image_bytes``; refused before anything is stored."""
    kind = sniff_image(data)
    if kind is None or len(data) > cfg.max_image_bytes or not data:
        raise AttachmentInvalid(limit=human_size(cfg.max_image_bytes))
    if conversation_id is not None:
        conv = await owned(s, who, conversation_id, lock=True)
        if conv.status == "closed":
            raise ConversationClosed()
    else:
        conv = await _open(s, cfg, who)
    await _check_pace(s, cfg, conv)
    attachment = ChatAttachment(
        conversation_id=conv.id, content_type=kind, size=len(data), data=data, created_at=cfg.now()
    )
    s.add(attachment)
    await s.flush()
    msg = await add_message(s, cfg, conv, sender="customer", attachment_id=attachment.id)
    return conv, msg


async def image(s: Any, conversation_id: uuid.UUID, attachment_id: uuid.UUID) -> ChatAttachment:
    """An image of a conversation the caller was already allowed to see."""
    found = await repo.attachment(s, attachment_id)
    if found is None or found.conversation_id != conversation_id:
        raise ConversationNotFound()
    return found


async def mark_read(s: Any, cfg: Config, conv: ChatConversation, *, by: str, upto: int) -> int:
    changed = await repo.mark_read(s, conv.id, by=by, upto=upto, at=cfg.now())
    if changed:
        await hub.publish(
            s,
            hub.conversation_channel(conv.id),
            {"t": "r", "c": str(conv.id), "by": by, "upto": upto},
        )
    return changed


TYPING_EVERY_S = 2.0
_typed: dict[tuple[uuid.UUID, str], float] = {}


async def typing(s: Any, conv: ChatConversation, *, by: str) -> None:
    """Tell the other side someone is typing — at most every TYPING_EVERY_S per conversation
    and side in this process (a hint; the rest are dropped, whatever the client sends)."""
    now = time.monotonic()
    key = (conv.id, by)
    if now - _typed.get(key, -TYPING_EVERY_S) < TYPING_EVERY_S:
        return
    if len(_typed) > 10_000:
        _typed.clear()
    _typed[key] = now
    await hub.publish(
        s, hub.conversation_channel(conv.id), {"t": "ty", "c": str(conv.id), "by": by}
    )


async def since(s: Any, conv: ChatConversation, after: int) -> list[ChatMessage]:
    return list(await repo.messages_since(s, conv.id, max(0, after)))
