"""In-app notifications (C4): one row per message, rendered in the reader's language when shown
(the template and its parameters are stored, not the text), with read state."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Index,
    String,
    any_,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.clock import clock_of
from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7
from qianbao.notifications.templates import render


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    link: Mapped[str | None] = mapped_column(String(200))
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        server_default=func.now(),  # noqa: TID251 - a raw insert's default
    )
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )


class Preferences(Base):
    """How a user wants to hear, besides the in-app inbox, about money movements and about
    customer service's answers (an agent replied in the chat or on a ticket)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    sms_money: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    email_money: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    sms_support: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    email_support: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


def _default_preferences(user_id: uuid.UUID) -> Preferences:
    return Preferences(
        user_id=user_id, sms_money=True, email_money=False, sms_support=True, email_support=True
    )


@dataclass(frozen=True)
class Shown:
    id: uuid.UUID
    text: str
    link: str | None
    created_at: datetime
    read: bool


async def add(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    template: str,
    params: dict[str, Any],
    link: str | None,
    dedup_key: str,
) -> bool:
    """Store one in-app notification; the same ``dedup_key`` twice stores it once."""
    from sqlalchemy.dialects.postgresql import insert

    result = await session.execute(
        insert(Notification)
        .values(user_id=user_id, template=template, params=params, link=link, dedup_key=dedup_key)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(Notification.id)
    )
    return result.first() is not None


_ADD_MANY = text(
    """
    INSERT INTO notifications (id, user_id, template, params, link, dedup_key)
    SELECT i, u, t, p::jsonb, l, k
      FROM unnest(CAST(:ids AS uuid[]), CAST(:users AS uuid[]), CAST(:templates AS text[]),
                  CAST(:params AS text[]), CAST(:links AS text[]), CAST(:keys AS text[]))
           WITH ORDINALITY AS n(i, u, t, p, l, k, o)
     ORDER BY o
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING dedup_key
    """
)


async def add_many(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """``add`` for many notifications (dicts of ``add``'s arguments) in one statement of fixed
    shape (arrays). Returns the dedup keys stored now (the others were stored before: a retried
    job)."""
    if not rows:
        return set()
    result = await session.execute(
        _ADD_MANY,
        {
            "ids": [uuid7() for _ in rows],
            "users": [r["user_id"] for r in rows],
            "templates": [r["template"] for r in rows],
            "params": [json.dumps(r["params"]) for r in rows],
            "links": [r["link"] for r in rows],
            "keys": [r["dedup_key"] for r in rows],
        },
    )
    return {key for key in result.scalars() if key is not None}


async def inbox(
    session: AsyncSession, user_id: uuid.UUID, locale: str, *, limit: int = 50
) -> list[Shown]:
    rows = await session.execute(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(max(1, min(limit, 200)))
    )
    return [
        Shown(
            n.id,
            render(n.template, "sms", locale, n.params).text,
            n.link,
            n.created_at,
            n.read_at is not None,
        )
        for n in rows.scalars()
    ]


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).where(
                    Notification.user_id == user_id, Notification.read_at.is_(None)
                )
            )
        ).scalar_one()
    )


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=clock_of(session).now())
    )


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> Preferences:
    prefs = await session.get(Preferences, user_id)
    return prefs or _default_preferences(user_id)


async def preferences_of(
    session: AsyncSession, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Preferences]:
    """``preferences`` for many users in one statement."""
    found = {
        p.user_id: p
        for p in (
            await session.execute(
                select(Preferences).where(
                    Preferences.user_id
                    == any_(bindparam("users", user_ids, type_=ARRAY(UUID(as_uuid=True))))
                )
            )
        ).scalars()
    }
    return {u: found.get(u) or _default_preferences(u) for u in user_ids}


async def set_preferences(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    sms_money: bool,
    email_money: bool,
    sms_support: bool | None = None,
    email_support: bool | None = None,
) -> None:
    """Save the choices; the support ones are kept as they were when not given."""
    prefs = await session.get(Preferences, user_id)
    if prefs is None:
        prefs = _default_preferences(user_id)
        session.add(prefs)
    prefs.sms_money = sms_money
    prefs.email_money = email_money
    if sms_support is not None:
        prefs.sms_support = sms_support
    if email_support is not None:
        prefs.email_support = email_support
    await session.flush()


async def send_by_preference(
    session: AsyncSession,
    user: Any,
    template: str,
    params: dict[str, Any],
    sealer: Any,
    *,
    about: str = "money",
    skip: tuple[str, ...] = (),
) -> None:
    """A message by SMS and e-mail too, as far as the user wants them there for what it is
    ``about`` ("money" or "support"; e-mail only to a verified address; channels in ``skip``
    already carried it); the in-app notice is the caller's ``add``."""
    from qianbao.notifications.service import request

    prefs = await preferences(session, user.id)
    sms, email = (
        (prefs.sms_support, prefs.email_support)
        if about == "support"
        else (prefs.sms_money, prefs.email_money)
    )
    channels = [("sms", user.phone)] if sms and "sms" not in skip else []
    if email and "email" not in skip and user.email and user.email_verified_at is not None:
        channels.append(("email", user.email))
    for channel, to in channels:
        await request(
            session,
            channel=channel,  # type: ignore[arg-type]
            to=to,
            template=template,
            locale=user.locale,
            params=params,
            sealer=sealer,
        )
