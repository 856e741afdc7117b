"""The Telegram Bot API webhook: ``setWebhook(url, secret_token)`` makes Telegram send every
Update as JSON with the header ``X-Telegram-Bot-Api-Secret-Token``; we compare it in constant
time. Answers go out with ``POST {api_base}/bot{token}/sendMessage`` (``chat_id``, ``text``)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from qianbao.support.im.errors import PushInvalid, PushRefused

HEADER = "x-telegram-bot-api-secret-token"


def check(expected: str, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PushRefused()


@dataclass(frozen=True)
class Update:
    update_id: int
    chat_id: str | None = None
    from_id: str | None = None
    text: str | None = None
    language: str | None = None

    @property
    def peer(self) -> str | None:
        """Who we talk to: the private chat (the same id as the user in a private chat)."""
        return self.chat_id


def parse(data: Any) -> Update:
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise PushInvalid()
    message = data.get("message") or data.get("edited_message")
    if not isinstance(message, dict):
        return Update(update_id=data["update_id"])  # another kind of update: nothing to do
    chat: dict[str, Any] = message["chat"] if isinstance(message.get("chat"), dict) else {}
    sender: dict[str, Any] = message["from"] if isinstance(message.get("from"), dict) else {}
    if chat.get("type", "private") != "private":
        return Update(update_id=data["update_id"])  # groups are not a support channel
    text = message.get("text")
    return Update(
        update_id=data["update_id"],
        chat_id=str(chat["id"]) if "id" in chat else None,
        from_id=str(sender["id"]) if "id" in sender else None,
        text=text if isinstance(text, str) else None,
        language=sender.get("language_code")
        if isinstance(sender.get("language_code"), str)
        else None,
    )


def send_url(base: str, bot_token: str) -> str:
    return f"{base.rstrip('/')}/bot{bot_token}/sendMessage"


def send_body(chat_id: str, text: str) -> dict[str, object]:
    return {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
