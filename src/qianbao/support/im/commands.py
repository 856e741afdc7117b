"""What a chat-account message asks for, before it reaches the chat: link the wallet (the code
never enters the conversation), a person, the welcome — or just text for the bot."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINK = re.compile(r"^\s*(?:绑定|綁定|bind|link|/link|/start)\s*[:：]?\s*(\d{4,8})\s*$", re.I)
_START = re.compile(r"^\s*/start(?:@\w+)?\s*$", re.I)
_HUMAN = re.compile(
    r"^\s*(?:人工|转人工|轉人工|人工客服|转人工客服|human|agent|/human(?:@\w+)?)\s*$", re.I
)


@dataclass(frozen=True)
class Command:
    kind: str  # link, human, start, text
    code: str | None = None


def read(text: str) -> Command:
    found = _LINK.match(text)
    if found:
        return Command("link", found.group(1))
    if _START.match(text):
        return Command("start")
    if _HUMAN.match(text):
        return Command("human")
    return Command("text")
