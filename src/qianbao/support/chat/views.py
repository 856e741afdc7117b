"""Messages and conversations as small JSON-ready dicts (the WebSocket frames, the HTTP
fallback and the pages use the same shape). Text stays text: the browser inserts it with
textContent and the templates escape it; links are only the help center's own."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.support.chat import repository as repo
from qianbao.support.chat.bot import view as bot_view
from qianbao.support.chat.models import ChatConversation, ChatMessage
from qianbao.support.chat.texts import say


def image_url(conv: ChatConversation, msg: ChatMessage, *, side: str) -> str | None:
    if msg.attachment_id is None:
        return None
    base = "/api/v1/chat/agent" if side == "agent" else "/api/v1/chat"
    return f"{base}/conversations/{conv.id}/images/{msg.attachment_id}"


class Viewer:
    """Renders for one side in one language, remembering agents' cards."""

    def __init__(self, s: Any, *, side: str, locale: str) -> None:
        self.s, self.side, self.locale = s, side, locale
        self._cards: dict[uuid.UUID, dict[str, str]] = {}

    async def agent(self, user_id: uuid.UUID | None) -> dict[str, str] | None:
        if user_id is None:
            return None
        if user_id not in self._cards:
            from qianbao.support.chat.desk import card_of

            user = await repo.user(self.s, user_id)
            if user is None:
                return None
            card = await card_of(self.s, user, self.locale)
            self._cards[user_id] = {"name": card.name, "agent_id": card.agent_id}
        return self._cards[user_id]

    def text(self, msg: ChatMessage) -> str:
        data = msg.data or {}
        key = data.get("key")
        if key:
            try:
                return say(key, data.get("params") or {}, self.locale)
            except KeyError:
                return msg.body
        return msg.body

    async def message(self, conv: ChatConversation, msg: ChatMessage) -> dict[str, Any]:
        data = msg.data or {}
        mine = msg.sender == ("customer" if self.side == "customer" else "agent")
        read_at = msg.read_by_agent_at if msg.sender == "customer" else msg.read_by_customer_at
        answer = bot_view(data, interactive=self.side == "customer" and conv.status == "bot")
        return {
            "id": msg.id,
            "sender": msg.sender,
            "mine": mine,
            "text": str(data.get("text", "")) if answer else self.text(msg),
            "bot": answer,  # the bot's answer in parts (chat.bot.view), None for other messages
            "masked": msg.masked,
            "articles": [
                {"title": str(a.get("title", "")), "url": str(a.get("url", ""))}
                for a in data.get("articles", [])
                if str(a.get("url", "")).startswith("/help/")
            ],
            "handoff": bool(data.get("handoff")) and conv.status == "bot",
            "image": image_url(conv, msg, side=self.side),
            "at": msg.created_at.isoformat(),
            "time": msg.created_at.astimezone(LOCAL_TZ).strftime("%H:%M"),
            "agent": await self.agent(msg.author_id) if msg.sender == "agent" else None,
            "read": read_at is not None,
        }

    async def messages(
        self, conv: ChatConversation, msgs: list[ChatMessage]
    ) -> list[dict[str, Any]]:
        return [await self.message(conv, m) for m in msgs]

    async def conversation(self, conv: ChatConversation) -> dict[str, Any]:
        other = "agent" if self.side == "customer" else "customer"
        return {
            "id": str(conv.id),
            "status": conv.status,
            "channel": getattr(conv, "channel", "web"),
            "verified": conv.verified,
            "agent": await self.agent(conv.agent_id) if conv.status == "assigned" else None,
            "read_upto": await repo.last_read(self.s, conv.id, by=other),
        }
