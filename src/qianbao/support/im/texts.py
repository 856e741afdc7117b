"""What the channels say on their own (the chat's own messages come from support.chat.texts)."""

from __future__ import annotations

from typing import Any

from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext

TEXTS: dict[str, str] = {
    "welcome_wechat": N_(
        "Welcome to Qianbao customer service. Write your question and our assistant answers at "
        "once; write 人工 to talk to a person. To get answers about your own wallet, link this "
        "WeChat account: in the Qianbao app open Me → Linked chat accounts, get a code and "
        "send 绑定 followed by the code here (for example 绑定 123456)."
    ),
    "welcome_telegram": N_(
        "Welcome to Qianbao customer service. Write your question and our assistant answers at "
        "once; send /human to talk to a person. To get answers about your own wallet, link this "
        "Telegram account: in the Qianbao app open Me → Linked chat accounts, get a code and "
        "send /link followed by the code (for example /link 123456)."
    ),
    "linked": N_(
        "Done: this account is now linked to your Qianbao wallet. Our assistant and agents can "
        "now answer about your own wallet. You can unlink it any time under Me → Linked chat "
        "accounts."
    ),
    "link_wrong": N_(
        "This code is wrong, expired or already used. Get a new code under Me → Linked chat "
        "accounts in the Qianbao app."
    ),
    "link_limited": N_(
        "Too many wrong codes. For your safety, linking from this account is paused; try again "
        "in an hour."
    ),
    "not_text": N_("For now we can only read text messages here. Please write your question."),
    "handoff_hint_wechat": N_("Write 人工 to talk to a person."),
    "handoff_hint_telegram": N_("Send /human to talk to a person."),
    "agent_says": N_("{name} (agent ID {agent_id}): {text}"),
}


def say(key: str, locale: str, **params: Any) -> str:
    return gettext(locale, TEXTS[key], **params)
