"""What a message template is (shared by the template lists of each domain)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Literal

Channel = Literal["sms", "email"]
CHANNELS: tuple[Channel, ...] = ("sms", "email")


@dataclass(frozen=True)
class Template:
    name: str
    sms: str
    subject: str
    body: str
    translate_params: tuple[str, ...] = ()  # parameters holding a msgid (a reason)

    def placeholders(self, channel: Channel) -> set[str]:
        texts = [self.sms] if channel == "sms" else [self.subject, self.body]
        return {
            field for text in texts for _, field, _, _ in string.Formatter().parse(text) if field
        }
