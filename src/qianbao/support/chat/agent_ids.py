"""The public agent id a customer sees next to the agent's name ("QB-123456"): the official
channels registry (``support.channels``) gives it, so /verify confirms it."""

from __future__ import annotations

from typing import Any

from qianbao.identity.models import User
from qianbao.support.channels.service import agent_id_for


async def public_agent_id(s: Any, user: User) -> str:
    return await agent_id_for(s, user.id)
