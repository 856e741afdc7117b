"""All SQL of the messaging channels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from qianbao.identity.models import User
from qianbao.support.im.models import (
    ImConversation,
    ImInbound,
    ImLink,
    ImLinkCode,
    ImLinkFailure,
    ImOutbound,
)


async def first_time(s: Any, channel: str, external_id: str) -> bool:
    """Record a push; False when it was already recorded (a platform's retry)."""
    stmt = (
        insert(ImInbound)
        .values(channel=channel, external_id=external_id[:128])
        .on_conflict_do_nothing()
        .returning(ImInbound.external_id)
    )
    return (await s.execute(stmt)).scalar_one_or_none() is not None


async def link_of_peer(s: Any, channel: str, peer_id: str) -> ImLink | None:
    return (
        await s.execute(select(ImLink).where(ImLink.channel == channel, ImLink.peer_id == peer_id))
    ).scalar_one_or_none()


async def links_of_user(s: Any, user_id: uuid.UUID) -> Sequence[ImLink]:
    stmt = select(ImLink).where(ImLink.user_id == user_id).order_by(ImLink.channel)
    return (await s.execute(stmt)).scalars().all()


async def user_locale(s: Any, user_id: uuid.UUID) -> str | None:
    return (await s.execute(select(User.locale).where(User.id == user_id))).scalar_one_or_none()


async def replace_link(
    s: Any, *, user_id: uuid.UUID, channel: str, peer_id: str, at: datetime
) -> ImLink:
    """The chat account now belongs to this wallet (and the wallet to this account only)."""
    await s.execute(
        delete(ImLink).where(
            ImLink.channel == channel, or_(ImLink.peer_id == peer_id, ImLink.user_id == user_id)
        )
    )
    link = ImLink(user_id=user_id, channel=channel, peer_id=peer_id, linked_at=at)
    s.add(link)
    await s.flush()
    return link


async def delete_link(s: Any, user_id: uuid.UUID, link_id: uuid.UUID) -> bool:
    stmt = (
        delete(ImLink).where(ImLink.id == link_id, ImLink.user_id == user_id).returning(ImLink.id)
    )
    return (await s.execute(stmt)).scalar_one_or_none() is not None


async def drop_codes(s: Any, user_id: uuid.UUID) -> None:
    await s.execute(delete(ImLinkCode).where(ImLinkCode.user_id == user_id))


async def active_codes(s: Any, code_hash: bytes, now: datetime) -> Sequence[ImLinkCode]:
    stmt = (
        select(ImLinkCode)
        .where(
            ImLinkCode.code_hash == code_hash,
            ImLinkCode.used_at.is_(None),
            ImLinkCode.expires_at > now,
        )
        .with_for_update()
    )
    return (await s.execute(stmt)).scalars().all()


async def failures_since(s: Any, channel: str, peer_id: str, since: datetime) -> int:
    stmt = select(func.count()).where(
        ImLinkFailure.channel == channel, ImLinkFailure.peer_id == peer_id, ImLinkFailure.at > since
    )
    return int((await s.execute(stmt)).scalar_one())


async def add_failure(s: Any, channel: str, peer_id: str, at: datetime) -> None:
    s.add(ImLinkFailure(channel=channel, peer_id=peer_id, at=at))
    await s.flush()


async def remember_peer(
    s: Any, conversation_id: uuid.UUID, channel: str, peer_id: str, at: datetime
) -> None:
    stmt = insert(ImConversation).values(
        conversation_id=conversation_id, channel=channel, peer_id=peer_id, last_inbound_at=at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["conversation_id", "channel"],
        set_={"peer_id": stmt.excluded.peer_id, "last_inbound_at": stmt.excluded.last_inbound_at},
    )
    await s.execute(stmt)


async def peers_of(s: Any, conversation_id: uuid.UUID) -> Sequence[ImConversation]:
    stmt = select(ImConversation).where(ImConversation.conversation_id == conversation_id)
    return (await s.execute(stmt)).scalars().all()


async def peers_of_many(s: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    if not ids:
        return {}
    stmt = select(ImConversation.conversation_id, ImConversation.channel).where(
        ImConversation.conversation_id.in_(ids)
    )
    out: dict[uuid.UUID, list[str]] = {}
    for conv_id, channel in (await s.execute(stmt)).all():
        out.setdefault(conv_id, []).append(channel)
    return out


async def queue(s: Any, values: dict[str, Any]) -> None:
    await s.execute(insert(ImOutbound).values(**values).on_conflict_do_nothing())


async def claim_due(s: Any, now: datetime, lease: datetime, limit: int) -> list[ImOutbound]:
    stmt = (
        select(ImOutbound)
        .where(
            ImOutbound.status == "pending",
            ImOutbound.next_at <= now,
            or_(ImOutbound.locked_until.is_(None), ImOutbound.locked_until < now),
        )
        .order_by(ImOutbound.next_at, ImOutbound.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list((await s.execute(stmt)).scalars().all())
    if rows:
        await s.execute(
            update(ImOutbound)
            .where(ImOutbound.id.in_([r.id for r in rows]))
            .values(locked_until=lease)
        )
    return rows


async def mark(s: Any, row_id: int, values: dict[str, Any]) -> None:
    await s.execute(update(ImOutbound).where(ImOutbound.id == row_id).values(**values))


async def outbound_of(s: Any, conversation_id: uuid.UUID) -> Sequence[ImOutbound]:
    stmt = (
        select(ImOutbound)
        .where(ImOutbound.conversation_id == conversation_id)
        .order_by(ImOutbound.id)
    )
    return (await s.execute(stmt)).scalars().all()
