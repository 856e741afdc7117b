"""All SQL of the official channels, agent ids, call-back requests and lookup counters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from qianbao.identity.models import STAFF_ROLES, User
from qianbao.support.channels.models import (
    AgentId,
    CallbackRequest,
    LookupCounter,
    OfficialChannel,
)


# -- channels ----------------------------------------------------------------------------------
async def channels(s: Any) -> list[OfficialChannel]:
    query = select(OfficialChannel).order_by(
        OfficialChannel.active.desc(), OfficialChannel.kind, OfficialChannel.value
    )
    return list((await s.execute(query)).scalars())


async def channel(s: Any, channel_id: uuid.UUID, *, lock: bool = False) -> OfficialChannel | None:
    query = select(OfficialChannel).where(OfficialChannel.id == channel_id)
    if lock:
        query = query.with_for_update()
    return (await s.execute(query)).scalar_one_or_none()


async def channel_by_value(s: Any, kind: str, value: str) -> OfficialChannel | None:
    query = (
        select(OfficialChannel)
        .where(OfficialChannel.kind == kind, OfficialChannel.value == value)
        .with_for_update()
    )
    return (await s.execute(query)).scalar_one_or_none()


async def insert_channels_missing(s: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await s.execute(
            insert(OfficialChannel)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["kind", "value"])
        )


async def matching(s: Any, pairs: list[tuple[str, str]]) -> list[OfficialChannel]:
    """Active channels equal to one of the (kind, value) pairs. A social account also matches
    by its handle alone: 'qianbaowallet' finds 'wechat:qianbaowallet'."""
    if not pairs:
        return []
    conditions: list[Any] = [tuple_(OfficialChannel.kind, OfficialChannel.value).in_(pairs)]
    handles = [value for kind, value in pairs if kind == "social" and ":" not in value]
    if handles:
        conditions.append(
            (OfficialChannel.kind == "social")
            & func.split_part(OfficialChannel.value, ":", 2).in_(handles)
        )
    query = select(OfficialChannel).where(OfficialChannel.active, or_(*conditions))
    return list((await s.execute(query)).scalars())


# -- agent ids ---------------------------------------------------------------------------------
async def agent_id_of(s: Any, user_id: uuid.UUID) -> str | None:
    query = select(AgentId.agent_id).where(AgentId.user_id == user_id)
    return (await s.execute(query)).scalar_one_or_none()


async def insert_agent_id(s: Any, user_id: uuid.UUID, agent_id: str) -> bool:
    """False when the id is taken (or the user got one concurrently)."""
    result = await s.execute(
        insert(AgentId)
        .values(user_id=user_id, agent_id=agent_id)
        .on_conflict_do_nothing()
        .returning(AgentId.user_id)
    )
    return result.scalar_one_or_none() is not None


async def staff_without_agent_id(s: Any) -> list[uuid.UUID]:
    query = (
        select(User.id)
        .outerjoin(AgentId, AgentId.user_id == User.id)
        .where(User.role.in_(STAFF_ROLES), AgentId.user_id.is_(None))
    )
    return list((await s.execute(query)).scalars())


async def agents_by_id(s: Any, agent_ids: list[str]) -> list[tuple[str, User]]:
    query = (
        select(AgentId.agent_id, User)
        .join(User, User.id == AgentId.user_id)
        .where(AgentId.agent_id.in_(agent_ids))
    )
    return [(row[0], row[1]) for row in await s.execute(query)]


async def user(s: Any, user_id: uuid.UUID) -> User | None:
    return await s.get(User, user_id)


# -- lookup counters ---------------------------------------------------------------------------
async def count_lookup(s: Any, ip: str, window_start: datetime) -> int:
    """Adds one lookup to the IP's current window; returns the window's count."""
    stmt = (
        insert(LookupCounter)
        .values(ip=ip, window_start=window_start, count=1)
        .on_conflict_do_update(
            index_elements=["ip", "window_start"], set_={"count": LookupCounter.count + 1}
        )
        .returning(LookupCounter.count)
    )
    return int((await s.execute(stmt)).scalar_one())


async def prune_counters(s: Any, before: datetime) -> None:
    await s.execute(delete(LookupCounter).where(LookupCounter.window_start < before))


# -- call-back requests ------------------------------------------------------------------------
async def open_callback(s: Any, user_id: uuid.UUID) -> CallbackRequest | None:
    query = select(CallbackRequest).where(
        CallbackRequest.user_id == user_id, CallbackRequest.status == "new"
    )
    return (await s.execute(query)).scalar_one_or_none()


async def insert_callback(s: Any, values: dict[str, Any]) -> CallbackRequest | None:
    """None when the user already has an open request (one at a time, even when racing)."""
    result = await s.execute(
        insert(CallbackRequest)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(CallbackRequest.id)
    )
    new_id = result.scalar_one_or_none()
    return None if new_id is None else await s.get(CallbackRequest, new_id)


async def callbacks(s: Any, status: str, limit: int) -> list[CallbackRequest]:
    order = CallbackRequest.created_at if status == "new" else CallbackRequest.done_at.desc()
    query = select(CallbackRequest).where(CallbackRequest.status == status)
    return list((await s.execute(query.order_by(order).limit(limit))).scalars())


async def callback(s: Any, callback_id: uuid.UUID) -> CallbackRequest | None:
    query = select(CallbackRequest).where(CallbackRequest.id == callback_id).with_for_update()
    return (await s.execute(query)).scalar_one_or_none()
