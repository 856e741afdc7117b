"""What happens after an agent answers a customer: the customer is told (in-app, and SMS or
e-mail by preference) and, for a conversation that came from WeChat or Telegram, the answer is
sent back there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qianbao.identity.models import User
    from qianbao.support.chat.models import ChatConversation, ChatMessage
    from qianbao.support.chat.service import Config


async def after_agent_reply(
    s: Any, cfg: Config, conv: ChatConversation, msg: ChatMessage, agent: User
) -> None:
    """Called by ``desk.reply`` in the reply's transaction."""
    from qianbao.support import reply_notice

    if cfg.settings is not None:
        await reply_notice.chat_replied(s, cfg.settings, conv, msg, cfg.now())
    await _to_chat_account(s, conv, msg, agent)


async def _to_chat_account(s: Any, conv: ChatConversation, msg: ChatMessage, agent: User) -> None:
    """A conversation from WeChat or Telegram: the reply goes back there (through the worker)."""
    from qianbao.support.im.outbound import relay_agent_reply

    await relay_agent_reply(s, conv, msg, agent)
