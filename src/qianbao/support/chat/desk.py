"""The agents' side: presence and capacity, "talk to a person" (round-robin among online agents
under their capacity, within business hours; else a ticket or the queue with the reply time
promised), replies, closing, and pulling waiting conversations when capacity frees up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from qianbao.identity.models import STAFF_ROLES, User
from qianbao.kernel.translations import gettext
from qianbao.support.chat import hub, replied, staffing, tickets_link
from qianbao.support.chat import repository as repo
from qianbao.support.chat.errors import (
    AgentsOnly,
    CapacityInvalid,
    ConversationClosed,
    ConversationNotFound,
    TransferUnavailable,
)
from qianbao.support.chat.models import ChatAgent, ChatConversation, ChatMessage
from qianbao.support.chat.service import Config, add_message, clean_text, system_message
from qianbao.support.chat.texts import AGENT
from qianbao.support.console import audit


@dataclass(frozen=True)
class AgentCard:
    """How an agent appears to a customer."""

    name: str
    agent_id: str


def check_agent(user: User) -> None:
    """Support agents, supervisors and admins with two-step verification only."""
    if user.role not in STAFF_ROLES or user.totp_enabled_at is None:
        raise AgentsOnly()


async def card_of(s: Any, user: User, locale: str) -> AgentCard:
    """The agent's signature (support.reply_notice: name, else "Agent"; public agent id)."""
    from qianbao.support.reply_notice import signature

    sign = await signature(s, user, gettext(locale, AGENT))
    return AgentCard(name=sign.name, agent_id=sign.agent_id)


async def presence(s: Any, cfg: Config, user: User) -> ChatAgent:
    check_agent(user)
    found = await repo.agent(s, user.id)
    if found is None:
        found = ChatAgent(
            user_id=user.id, online=False, max_concurrent=cfg.default_capacity, updated_at=cfg.now()
        )
        s.add(found)
        await s.flush()
    return found


async def set_presence(
    s: Any, cfg: Config, user: User, *, online: bool, capacity: int | None = None
) -> ChatAgent:
    """Online or offline, with how many conversations at once. Going online (or raising the
    capacity) takes waiting conversations at once, oldest first."""
    check_agent(user)
    if capacity is not None and not 1 <= capacity <= cfg.max_capacity:
        raise CapacityInvalid(limit=cfg.max_capacity)
    agent = await presence(s, cfg, user)
    agent.online = online
    if capacity is not None:
        agent.max_concurrent = capacity
    agent.updated_at = cfg.now()
    await s.flush()
    await repo.touch_agent(s, user.id)
    if online:
        await pull_queue(s, cfg)
    return agent


async def seen(s: Any, user: User) -> None:
    """The agent's console (a WebSocket heartbeat, a page or an API poll) is alive."""
    await repo.touch_agent(s, user.id)


async def release_absent(s: Any, cfg: Config) -> int:
    """Agents marked online but unseen for ``cfg.abandon_after_s`` (a closed laptop, a lost
    connection) go offline; each of their open conversations gets a word to the customer and a
    new hand-off (a present agent, else the queue keeping its place, else a ticket). Returns how
    many were handed on."""
    absent = list(await repo.absent_agents_locked(s, cfg.abandon_after_s))
    for agent in absent:
        agent.online = False
        agent.updated_at = cfg.now()
    await s.flush()  # before handing off: nobody gives a conversation back to an absent agent
    returned = 0
    for agent in absent:
        for conv in await repo.of_agent(s, agent.user_id):
            place = conv.queued_at or conv.assigned_at or conv.created_at
            conv.status, conv.agent_id = "bot", None
            await system_message(s, cfg, conv, "agent_gone")
            # Another agent now, or a ticket / the queue with the reply time, as for a new
            # hand-off; in the queue the customer keeps their place.
            await handoff(s, cfg, conv)
            if conv.status == "queued":
                conv.queued_at = place
            returned += 1
    await s.flush()
    return returned


async def tend(s: Any, cfg: Config) -> tuple[int, int]:
    """The worker's periodic round (every 30 s): hand on absent agents' chats, then give
    waiting chats to agents with room — so the queue also moves when the desk opens in the
    morning or an agent frees a place without closing a chat. Returns (handed on, assigned)."""
    handed = await release_absent(s, cfg)
    return handed, await pull_queue(s, cfg)


async def _assign(s: Any, cfg: Config, conv: ChatConversation) -> User | None:
    """Give ``conv`` to the online agent who waited longest for one and is under capacity —
    within the desk calendar any of them, outside it those on shift (the rota)."""
    desk = await staffing.state(s, cfg)
    if not desk.staffed:
        return None
    for agent, holding in await repo.available_agents(s, cfg.presence_ttl_s):
        if holding >= agent.max_concurrent or not desk.may_take(agent.user_id):
            continue
        user = await repo.user(s, agent.user_id)
        assert user is not None
        now = cfg.now()
        agent.last_assigned_at = now
        conv.status, conv.agent_id, conv.assigned_at = "assigned", agent.user_id, now
        await s.flush()
        card = await card_of(s, user, conv.locale)
        await system_message(s, cfg, conv, "assigned", name=card.name, agent_id=card.agent_id)
        await hub.publish(s, hub.agent_channel(user.id), {"t": "a", "c": str(conv.id)})
        await hub.publish(s, hub.conversation_channel(conv.id), {"t": "s", "c": str(conv.id)})
        return user
    return None


async def handoff(s: Any, cfg: Config, conv: ChatConversation) -> ChatConversation:
    """'Talk to a person': an agent now, or else a ticket (signed-in customers, when the tickets
    package offers it) or the queue, and the customer is told when to expect a reply."""
    if conv.status == "closed":
        raise ConversationClosed()
    if conv.status == "assigned":
        return conv
    if await _assign(s, cfg, conv) is not None:
        return conv
    if conv.status == "queued":
        return conv  # already waiting; told once
    now = cfg.now()
    desk = await staffing.state(s, cfg, now)
    is_open = desk.staffed
    ticket = None
    nobody = not await repo.any_agent_online(s, cfg.presence_ttl_s)
    if not is_open or nobody:
        # After hours the ticket is due when the desk promises a reply (calendar and rota).
        ticket = await tickets_link.open_from_chat(
            s, cfg, conv, due=None if is_open else desk.reply_by
        )
    if ticket is not None:
        reference, due = ticket
        await system_message(s, cfg, conv, "ticket", reference=reference, time=due.isoformat())
        conv.status, conv.closed_at = "closed", now
    else:
        when = desk.reply_by
        conv.status, conv.queued_at = "queued", now
        key = ("queued_nobody" if nobody else "queued") if is_open else "after_hours"
        params: dict[str, Any] = {"time": when.isoformat()}
        if not is_open:
            params.update(opens=f"{cfg.hours.opens_at:02d}", closes=f"{cfg.hours.closes_at:02d}")
        await system_message(s, cfg, conv, key, **params)
    await s.flush()
    await hub.publish(s, hub.conversation_channel(conv.id), {"t": "s", "c": str(conv.id)})
    return conv


async def pull_queue(s: Any, cfg: Config, limit: int = 20) -> int:
    """Assign waiting conversations while agents have room; returns how many."""
    if not (await staffing.state(s, cfg)).staffed:
        return 0
    done = 0
    for conv in await repo.queued(s, limit):
        if await _assign(s, cfg, conv) is None:
            break
        done += 1
    return done


async def conversation_for_agent(
    s: Any, user: User, conversation_id: uuid.UUID, *, lock: bool = False
) -> ChatConversation:
    """A conversation the agent holds (supervisors and admins: any)."""
    check_agent(user)
    conv = await repo.conversation(s, conversation_id, lock=lock)
    if conv is None:
        raise ConversationNotFound()
    if conv.agent_id != user.id and user.role not in ("supervisor", "admin"):
        raise ConversationNotFound()
    return conv


async def view_for_agent(s: Any, user: User, conversation_id: uuid.UUID) -> ChatConversation:
    """The agent opens a conversation (the customer's messages, name and masked number): the
    read is written to the audit log (E9)."""
    conv = await conversation_for_agent(s, user, conversation_id)
    await audit.record(s, user, "chat.viewed", subject_user_id=conv.user_id, obj=("chat", conv.id))
    return conv


async def reply(
    s: Any, cfg: Config, user: User, conversation_id: uuid.UUID, text: str
) -> ChatMessage:
    """The agent answers (masked like the customer's text)."""
    from qianbao.support.chat.masking import mask

    text = clean_text(cfg, text)
    conv = await conversation_for_agent(s, user, conversation_id, lock=True)
    if conv.status != "assigned":
        raise ConversationClosed()
    hidden = mask(text)
    await audit.record(s, user, "chat.replied", subject_user_id=conv.user_id, obj=("chat", conv.id))
    msg = await add_message(
        s, cfg, conv, sender="agent", body=hidden.text, masked=hidden.masked, author_id=user.id
    )
    await replied.after_agent_reply(s, cfg, conv, msg, user)
    return msg


async def close(s: Any, cfg: Config, user: User, conversation_id: uuid.UUID) -> ChatConversation:
    conv = await conversation_for_agent(s, user, conversation_id, lock=True)
    if conv.status == "closed":
        raise ConversationClosed()
    conv.status, conv.closed_at = "closed", cfg.now()
    await s.flush()
    await audit.record(s, user, "chat.closed", subject_user_id=conv.user_id, obj=("chat", conv.id))
    await system_message(s, cfg, conv, "closed")
    await hub.publish(s, hub.conversation_channel(conv.id), {"t": "s", "c": str(conv.id)})
    await pull_queue(s, cfg)  # the freed place goes to the next waiting customer
    return conv


async def transfer_targets(s: Any, cfg: Config, user: User, conv: ChatConversation) -> list[Any]:
    """Who can take ``conv`` from its agent now: present agents with room, but not its holder;
    each as (user, card, holding, capacity)."""
    check_agent(user)
    out = []
    for agent, holding in await repo.available_agents(s, cfg.presence_ttl_s, lock=False):
        if agent.user_id == conv.agent_id or holding >= agent.max_concurrent:
            continue
        other = await repo.user(s, agent.user_id)
        assert other is not None
        out.append((other, await card_of(s, other, conv.locale), holding, agent.max_concurrent))
    return out


async def transfer(
    s: Any, cfg: Config, user: User, conversation_id: uuid.UUID, to_agent_id: uuid.UUID
) -> ChatConversation:
    """The agent (or a supervisor) hands a conversation to another present agent with room.
    The customer is told who takes over; the new agent sees the whole conversation; the freed
    place goes to the queue. Audited."""
    conv = await conversation_for_agent(s, user, conversation_id, lock=True)
    if conv.status != "assigned":
        raise ConversationClosed()
    target = None
    for agent, holding in await repo.available_agents(s, cfg.presence_ttl_s):
        if agent.user_id == to_agent_id and agent.user_id != conv.agent_id:
            if holding < agent.max_concurrent:
                target = agent
            break
    if target is None:
        raise TransferUnavailable()
    taker = await repo.user(s, target.user_id)
    assert taker is not None
    previous = conv.agent_id
    conv.agent_id = taker.id
    target.last_assigned_at = cfg.now()
    await s.flush()
    card = await card_of(s, taker, conv.locale)
    await system_message(s, cfg, conv, "transferred", name=card.name, agent_id=card.agent_id)
    await audit.record(
        s,
        user,
        "chat.transferred",
        subject_user_id=conv.user_id,
        obj=("chat", conv.id),
        details={"from": str(previous), "to": str(taker.id)},
    )
    await hub.publish(s, hub.agent_channel(taker.id), {"t": "a", "c": str(conv.id)})
    await hub.publish(s, hub.conversation_channel(conv.id), {"t": "s", "c": str(conv.id)})
    await pull_queue(s, cfg)
    return conv


async def take(s: Any, cfg: Config, user: User, conversation_id: uuid.UUID) -> ChatConversation:
    """An agent picks a waiting conversation by hand ("接入"), besides the round-robin: online,
    with room under their capacity. Race-safe: the conversation row is locked, so of two agents
    taking it at once one wins and the other is told (``ChatAlreadyTaken``). The customer gets
    the same message as on assignment (the agent's name and ID); audited."""
    from qianbao.support.chat.waiting import ChatAlreadyTaken, GoOnlineFirst, NoRoomForChat

    check_agent(user)
    agent = await repo.agent(s, user.id)
    if agent is None or not agent.online:
        raise GoOnlineFirst()
    conv = await repo.conversation(s, conversation_id, lock=True)
    if conv is None:
        raise ConversationNotFound()
    if conv.status != "queued":
        raise ChatAlreadyTaken()
    holding = len(await repo.of_agent(s, user.id))
    if holding >= agent.max_concurrent:
        raise NoRoomForChat(limit=agent.max_concurrent)
    now = cfg.now()
    agent.last_assigned_at = now
    conv.status, conv.agent_id, conv.assigned_at = "assigned", user.id, now
    await s.flush()
    card = await card_of(s, user, conv.locale)
    await system_message(s, cfg, conv, "assigned", name=card.name, agent_id=card.agent_id)
    await audit.record(
        s,
        user,
        "chat.taken",
        subject_user_id=conv.user_id,
        obj=("chat", conv.id),
        details={"waited_s": int((now - (conv.queued_at or conv.created_at)).total_seconds())},
    )
    await hub.publish(s, hub.agent_channel(user.id), {"t": "a", "c": str(conv.id)})
    await hub.publish(s, hub.conversation_channel(conv.id), {"t": "s", "c": str(conv.id)})
    return conv


async def mine(s: Any, user: User) -> list[ChatConversation]:
    check_agent(user)
    return list(await repo.of_agent(s, user.id))


async def queued_count(s: Any) -> int:
    return await repo.queued_count(s)


async def unread(s: Any, convs: list[ChatConversation]) -> dict[uuid.UUID, int]:
    return await repo.unread_for_agent(s, [c.id for c in convs])
