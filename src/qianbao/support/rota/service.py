"""The rota: supervisors add and remove agents' weekly shifts (audited); the chat desk asks who
is on shift now and when the next shift starts (``support.desk_calendar``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from qianbao.identity.models import STAFF_ROLES, User
from qianbao.support.console import audit
from qianbao.support.console.access import require_staff, require_supervisor
from qianbao.support.desk_calendar import Shift, clock_text, parse_time
from qianbao.support.rota.errors import ShiftInvalid, ShiftNotFound
from qianbao.support.rota.models import AgentShift


@dataclass(frozen=True)
class RotaLine:
    id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str | None
    weekday: int
    starts: str  # HH:MM
    ends: str
    overnight: bool


def as_shift(row: AgentShift) -> Shift:
    return Shift(row.agent_id, row.weekday, row.starts_min, row.ends_min)


async def shifts(s: Any) -> list[Shift]:
    """Every shift of the rota (a desk has a few dozen lines at most)."""
    rows = await s.execute(select(AgentShift).order_by(AgentShift.weekday, AgentShift.starts_min))
    return [as_shift(r) for r in rows.scalars().all()]


async def lines(s: Any, staff: Any) -> list[RotaLine]:
    """The rota by weekday and start, with the agents' names (any staff member may read it)."""
    require_staff(staff)
    rows = await s.execute(
        select(AgentShift, User.real_name)
        .join(User, User.id == AgentShift.agent_id)
        .order_by(AgentShift.weekday, AgentShift.starts_min, User.real_name)
    )
    return [
        RotaLine(
            r.id, r.agent_id, name, r.weekday, clock_text(r.starts_min), clock_text(r.ends_min),
            r.ends_min <= r.starts_min,
        )
        for r, name in rows.all()
    ]  # fmt: skip


async def agents(s: Any, staff: Any) -> list[User]:
    """Staff who can take chats (two-step verification on), by name."""
    require_staff(staff)
    rows = await s.execute(
        select(User)
        .where(User.role.in_(STAFF_ROLES), User.totp_enabled_at.is_not(None))
        .order_by(User.real_name, User.phone)
    )
    return list(rows.scalars().all())


def _minutes(text: str, *, end: bool) -> int:
    try:
        value = parse_time(text)
    except ValueError:
        raise ShiftInvalid() from None
    if (end and value == 0) or (not end and value == 24 * 60):
        value = 24 * 60 if end else 0
    return value


async def add(
    s: Any, supervisor: Any, *, agent_id: str | uuid.UUID, weekday: int, starts: str, ends: str
) -> AgentShift:
    """A weekly shift; ``ends`` at or before ``starts`` runs over midnight (22:00–08:00)."""
    require_supervisor(supervisor)
    try:
        agent_uuid = agent_id if isinstance(agent_id, uuid.UUID) else uuid.UUID(str(agent_id))
    except ValueError:
        raise ShiftInvalid() from None
    agent = await s.get(User, agent_uuid)
    if agent is None or agent.role not in STAFF_ROLES or agent.totp_enabled_at is None:
        raise ShiftInvalid()
    if not 1 <= int(weekday) <= 7:
        raise ShiftInvalid()
    start, end = _minutes(starts, end=False), _minutes(ends, end=True)
    if start == end % (24 * 60) and end != 24 * 60:
        raise ShiftInvalid()  # a shift of no time (or of exactly a day: write 00:00-24:00)
    row = AgentShift(
        agent_id=agent.id, weekday=int(weekday), starts_min=start, ends_min=end,
        created_by=supervisor.id,
    )  # fmt: skip
    s.add(row)
    await s.flush()
    await audit.record(
        s, supervisor, "rota.shift_added", obj=("shift", row.id),
        details={"agent": str(agent.id), "weekday": row.weekday,
                 "hours": f"{clock_text(start)}-{clock_text(end)}"},
    )  # fmt: skip
    return row


async def remove(s: Any, supervisor: Any, shift_id: str | uuid.UUID) -> None:
    require_supervisor(supervisor)
    try:
        ident = shift_id if isinstance(shift_id, uuid.UUID) else uuid.UUID(str(shift_id))
    except ValueError:
        raise ShiftNotFound() from None
    row = await s.get(AgentShift, ident)
    if row is None:
        raise ShiftNotFound()
    await s.execute(delete(AgentShift).where(AgentShift.id == row.id))
    await audit.record(
        s, supervisor, "rota.shift_removed", obj=("shift", row.id),
        details={"agent": str(row.agent_id), "weekday": row.weekday,
                 "hours": f"{clock_text(row.starts_min)}-{clock_text(row.ends_min)}"},
    )  # fmt: skip
