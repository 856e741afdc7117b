"""The audit log: ``record`` appends one row per staff read of customer data or staff action;
``search`` lists them for supervisors. The table refuses UPDATE, DELETE and TRUNCATE (trigger in
migration 0013), so an entry, once flushed, stays as written."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from qianbao.support.console.access import require_supervisor
from qianbao.support.console.models import AuditEntry

MAX_DETAIL = 500


def _actor_id(actor: Any) -> uuid.UUID:
    return actor if isinstance(actor, uuid.UUID) else actor.id


def _clean(details: dict[str, Any] | None) -> dict[str, Any]:
    """JSON-safe, short values: the log is for who did what, not for copies of data."""
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if value is None or isinstance(value, bool | int | float):
            out[str(key)[:40]] = value
        else:
            out[str(key)[:40]] = str(value)[:MAX_DETAIL]
    return out


async def record(
    session: Any,
    actor: Any,
    action: str,
    subject_user_id: uuid.UUID | None = None,
    obj: tuple[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` is a staff user (or its id); ``obj`` is ``(kind, id)``, for
    example ``("ticket", "T20261123-482913")``."""
    entry = AuditEntry(
        actor_id=_actor_id(actor),
        action=action[:40],
        subject_user_id=subject_user_id,
        object_kind=obj[0][:24] if obj else None,
        object_id=str(obj[1])[:64] if obj else None,
        details=_clean(details),
        ip=(ip or None) and ip[:64],
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    actor_id: uuid.UUID | None = None
    subject_user_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive


async def search(session: Any, staff: Any, f: AuditFilter, *, limit: int = 200) -> list[AuditEntry]:
    """Newest first; supervisors and admins only."""
    require_supervisor(staff)
    stmt = select(AuditEntry)
    if f.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == f.actor_id)
    if f.subject_user_id is not None:
        stmt = stmt.where(AuditEntry.subject_user_id == f.subject_user_id)
    if f.action:
        stmt = stmt.where(AuditEntry.action == f.action)
    if f.since is not None:
        stmt = stmt.where(AuditEntry.at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEntry.at < f.until)
    rows = await session.execute(
        stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
    )
    return list(rows.scalars())


async def actions(session: Any) -> list[str]:
    rows = await session.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    return list(rows.scalars())


async def of_customer(session: Any, user_id: uuid.UUID, *, limit: int = 20) -> list[AuditEntry]:
    """The latest entries about one customer (shown on the customer page to every agent)."""
    rows = await session.execute(
        select(AuditEntry)
        .where(AuditEntry.subject_user_id == user_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def people(session: Any, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    """Names and masked numbers of the actors and customers shown on a page."""
    from qianbao.identity.models import User
    from qianbao.identity.phones import mask_phone

    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.execute(
        select(User.id, User.real_name, User.phone, User.role).where(User.id.in_(wanted))
    )
    return {
        uid: {"name": name or "—", "phone": mask_phone(phone), "role": role}
        for uid, name, phone, role in rows.all()
    }
