"""For the official-channels check (/verify, D6): which agents are talking with a user in the
live chat right now. ``support.channels.service.active_agent_contacts`` is the hook meant to
return this."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.support.channels.service import AgentContact
from qianbao.support.chat import repository as repo
from qianbao.support.chat.agent_ids import public_agent_id


async def active_agent_contacts(s: Any, user_id: uuid.UUID) -> list[AgentContact]:
    conv = await repo.open_of_user(s, user_id)
    if conv is None or conv.status != "assigned" or conv.agent_id is None:
        return []
    agent = await repo.user(s, conv.agent_id)
    if agent is None:
        return []
    name = agent.real_name or "—"
    return [
        AgentContact(
            name=name,
            agent_id=await public_agent_id(s, agent),
            channel="chat",
            since=conv.assigned_at or conv.created_at,
        )
    ]
