"""All SQL of the live chat."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from qianbao.identity.models import STAFF_ROLES, User
from qianbao.kernel.clock import clock_of
from qianbao.support.chat.models import ChatAgent, ChatAttachment, ChatConversation, ChatMessage


async def open_of_user(s: Any, user_id: uuid.UUID) -> ChatConversation | None:
    stmt = select(ChatConversation).where(
        ChatConversation.user_id == user_id, ChatConversation.status != "closed"
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def open_of_visitor(s: Any, visitor_hash: bytes) -> ChatConversation | None:
    stmt = select(ChatConversation).where(
        ChatConversation.visitor_hash == visitor_hash, ChatConversation.status != "closed"
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def conversation(
    s: Any, conversation_id: uuid.UUID, *, lock: bool = False
) -> ChatConversation | None:
    stmt = select(ChatConversation).where(ChatConversation.id == conversation_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalar_one_or_none()


async def customer_messages_since(s: Any, conversation_id: uuid.UUID, since: datetime) -> int:
    stmt = select(func.count()).where(
        ChatMessage.conversation_id == conversation_id,
        ChatMessage.sender == "customer",
        ChatMessage.created_at > since,
    )
    return int((await s.execute(stmt)).scalar_one())


async def messages_since(
    s: Any, conversation_id: uuid.UUID, since: int, limit: int = 200
) -> Sequence[ChatMessage]:
    stmt = (
        select(ChatMessage)
        .where(ChatMessage.conversation_id == conversation_id, ChatMessage.id > since)
        .order_by(ChatMessage.id)
        .limit(limit)
    )
    return (await s.execute(stmt)).scalars().all()


async def mark_read(s: Any, conversation_id: uuid.UUID, *, by: str, upto: int, at: datetime) -> int:
    """Messages of the other side up to ``upto`` become read by ``by``; returns how many."""
    column = ChatMessage.read_by_customer_at if by == "customer" else ChatMessage.read_by_agent_at
    others = ("bot", "agent", "system") if by == "customer" else ("customer",)
    result = await s.execute(
        update(ChatMessage)
        .where(
            ChatMessage.conversation_id == conversation_id,
            ChatMessage.id <= upto,
            ChatMessage.sender.in_(others),
            column.is_(None),
        )
        .values({column: at})
    )
    return int(result.rowcount or 0)


async def last_read(s: Any, conversation_id: uuid.UUID, *, by: str) -> int:
    """The newest message id the ``by`` side has read (0: none)."""
    column = ChatMessage.read_by_customer_at if by == "customer" else ChatMessage.read_by_agent_at
    stmt = select(func.coalesce(func.max(ChatMessage.id), 0)).where(
        ChatMessage.conversation_id == conversation_id, column.is_not(None)
    )
    return int((await s.execute(stmt)).scalar_one())


async def attachment(s: Any, attachment_id: uuid.UUID) -> ChatAttachment | None:
    return await s.get(ChatAttachment, attachment_id)


async def user(s: Any, user_id: uuid.UUID) -> User | None:
    return await s.get(User, user_id)


async def agent(s: Any, user_id: uuid.UUID) -> ChatAgent | None:
    return await s.get(ChatAgent, user_id)


def _present(ttl_s: int, now: datetime) -> Any:
    """Online, seen within ``ttl_s`` seconds of ``now`` (the service's clock), and still staff
    with two-step verification and not frozen."""
    return (
        ChatAgent.online.is_(True),
        ChatAgent.last_seen_at > now - timedelta(seconds=ttl_s),
        User.role.in_(STAFF_ROLES),
        User.totp_enabled_at.is_not(None),
        User.frozen_at.is_(None),
    )


async def touch_agent(s: Any, user_id: uuid.UUID) -> None:
    """A sign of life from the agent's console or API client."""
    await s.execute(
        update(ChatAgent).where(ChatAgent.user_id == user_id).values(last_seen_at=clock_of(s).now())
    )


async def absent_agents_locked(s: Any, after_s: int) -> Sequence[ChatAgent]:
    """Agents still marked online but not seen for ``after_s`` seconds (others skip them)."""
    stmt = (
        select(ChatAgent)
        .where(
            ChatAgent.online.is_(True),
            (ChatAgent.last_seen_at.is_(None))
            | (ChatAgent.last_seen_at <= clock_of(s).now() - timedelta(seconds=after_s)),
        )
        .order_by(ChatAgent.user_id)
        .with_for_update(skip_locked=True)
    )
    return (await s.execute(stmt)).scalars().all()


async def available_agents(s: Any, ttl_s: int, *, lock: bool = True) -> list[tuple[ChatAgent, int]]:
    """Present agents (see ``_present``), in round-robin order (longest without a new
    conversation first), locked for this transaction (unless ``lock`` is false: a list to
    show), each with the number of conversations they hold now."""
    stmt = (
        select(ChatAgent)
        .join(User, User.id == ChatAgent.user_id)
        .where(*_present(ttl_s, clock_of(s).now()))
        .order_by(ChatAgent.last_assigned_at.asc().nulls_first(), ChatAgent.user_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=ChatAgent)
    agents = list((await s.execute(stmt)).scalars().all())
    if not agents:
        return []
    counts = dict(
        (
            await s.execute(
                select(ChatConversation.agent_id, func.count())
                .where(
                    ChatConversation.status == "assigned",
                    ChatConversation.agent_id.in_([a.user_id for a in agents]),
                )
                .group_by(ChatConversation.agent_id)
            )
        ).all()
    )
    return [(a, int(counts.get(a.user_id, 0))) for a in agents]


async def queued(s: Any, limit: int) -> Sequence[ChatConversation]:
    """The oldest waiting conversations, locked (others skip them)."""
    stmt = (
        select(ChatConversation)
        .where(ChatConversation.status == "queued")
        .order_by(ChatConversation.queued_at, ChatConversation.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await s.execute(stmt)).scalars().all()


async def of_agent(s: Any, agent_id: uuid.UUID) -> Sequence[ChatConversation]:
    stmt = (
        select(ChatConversation)
        .where(ChatConversation.agent_id == agent_id, ChatConversation.status == "assigned")
        .order_by(ChatConversation.assigned_at)
    )
    return (await s.execute(stmt)).scalars().all()


async def queued_count(s: Any) -> int:
    stmt = select(func.count()).where(ChatConversation.status == "queued")
    return int((await s.execute(stmt)).scalar_one())


async def unread_for_agent(s: Any, conversation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not conversation_ids:
        return {}
    stmt = (
        select(ChatMessage.conversation_id, func.count())
        .where(
            ChatMessage.conversation_id.in_(conversation_ids),
            ChatMessage.sender == "customer",
            ChatMessage.read_by_agent_at.is_(None),
        )
        .group_by(ChatMessage.conversation_id)
    )
    return {cid: int(n) for cid, n in (await s.execute(stmt)).all()}


async def any_agent_online(s: Any, ttl_s: int) -> bool:
    stmt = (
        select(ChatAgent.user_id)
        .join(User, User.id == ChatAgent.user_id)
        .where(*_present(ttl_s, clock_of(s).now()))
        .limit(1)
    )
    return (await s.execute(stmt)).first() is not None


async def of_user(s: Any, user_id: uuid.UUID, limit: int = 100) -> Sequence[ChatConversation]:
    """A signed-in customer's conversations, newest first."""
    stmt = (
        select(ChatConversation)
        .where(ChatConversation.user_id == user_id)
        .order_by(ChatConversation.created_at.desc(), ChatConversation.id.desc())
        .limit(limit)
    )
    return (await s.execute(stmt)).scalars().all()


async def latest_closed_of_user(s: Any, user_id: uuid.UUID) -> ChatConversation | None:
    stmt = (
        select(ChatConversation)
        .where(ChatConversation.user_id == user_id, ChatConversation.status == "closed")
        .order_by(ChatConversation.closed_at.desc().nulls_last(), ChatConversation.id.desc())
        .limit(1)
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def latest_closed_of_visitor(s: Any, visitor_hash: bytes) -> ChatConversation | None:
    stmt = (
        select(ChatConversation)
        .where(ChatConversation.visitor_hash == visitor_hash, ChatConversation.status == "closed")
        .order_by(ChatConversation.closed_at.desc().nulls_last(), ChatConversation.id.desc())
        .limit(1)
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def first_customer_texts(
    s: Any, conversation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Each conversation's first text from the customer (masked as stored): its title."""
    if not conversation_ids:
        return {}
    first = (
        select(func.min(ChatMessage.id))
        .where(
            ChatMessage.conversation_id.in_(conversation_ids),
            ChatMessage.sender == "customer",
            ChatMessage.body != "",
        )
        .group_by(ChatMessage.conversation_id)
    )
    stmt = select(ChatMessage.conversation_id, ChatMessage.body).where(ChatMessage.id.in_(first))
    return {cid: body for cid, body in (await s.execute(stmt)).all()}


async def first_unread_agent_message(s: Any, conversation_id: uuid.UUID) -> int | None:
    """The oldest agent message the customer has not read (None: all read)."""
    stmt = select(func.min(ChatMessage.id)).where(
        ChatMessage.conversation_id == conversation_id,
        ChatMessage.sender == "agent",
        ChatMessage.read_by_customer_at.is_(None),
    )
    found = (await s.execute(stmt)).scalar_one()
    return int(found) if found is not None else None


async def message(s: Any, conversation_id: uuid.UUID, message_id: int) -> ChatMessage | None:
    stmt = select(ChatMessage).where(
        ChatMessage.conversation_id == conversation_id, ChatMessage.id == message_id
    )
    return (await s.execute(stmt)).scalar_one_or_none()
