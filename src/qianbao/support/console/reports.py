"""Support reports (E10) for a range of local days: first-response and resolution times (median
and 90th percentile, in minutes), CSAT (average and count, by score; ratings of tickets and of
live chats alike, with the chats' share), ticket volume by category and per agent. Tickets count
by their creation time; ratings by theirs. Read-only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, cast, func, select

from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.support.console.access import require_supervisor
from qianbao.support.console.errors import ReportRangeInvalid
from qianbao.support.console.models import Rating
from qianbao.support.tickets.models import Ticket

MAX_DAYS = 366


@dataclass(frozen=True)
class Durations:
    count: int
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class AgentRow:
    agent_id: uuid.UUID | None  # None: unassigned
    name: str | None
    tickets: int
    resolved: int
    median_first_response_minutes: float | None
    csat_average: float | None
    csat_count: int


@dataclass
class Report:
    start: date
    end: date  # inclusive
    tickets: int = 0
    first_response: Durations = Durations(0, None, None)
    resolution: Durations = Durations(0, None, None)
    csat_average: float | None = None
    csat_count: int = 0
    csat_chat_count: int = 0  # of csat_count: ratings of live-chat conversations
    csat_by_score: dict[int, int] = field(default_factory=dict)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_agent: list[AgentRow] = field(default_factory=list)


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start or (end - start).days >= MAX_DAYS:
        raise ReportRangeInvalid()
    since = datetime.combine(start, time.min, LOCAL_TZ)
    until = datetime.combine(end + timedelta(days=1), time.min, LOCAL_TZ)
    return since, until


def _minutes(value: Any) -> float | None:
    return None if value is None else round(float(value) / 60.0, 1)


def _seconds(later: Any, earlier: Any) -> Any:
    return func.extract("epoch", later - earlier)


def _percentiles(seconds: Any) -> list[Any]:
    return [
        func.count(seconds),
        func.percentile_cont(0.5).within_group(seconds),
        func.percentile_cont(0.9).within_group(seconds),
    ]


async def build(session: Any, staff: Any, start: date, end: date) -> Report:
    require_supervisor(staff)
    since, until = bounds(start, end)
    report = Report(start=start, end=end)
    created = (Ticket.created_at >= since, Ticket.created_at < until, Ticket.merged_into.is_(None))
    frt = _seconds(Ticket.first_responded_at, Ticket.created_at)
    res = _seconds(Ticket.resolved_at, Ticket.created_at)

    report.tickets = int(
        (
            await session.execute(select(func.count()).select_from(Ticket).where(*created))
        ).scalar_one()
    )
    n, med, p90 = (await session.execute(select(*_percentiles(frt)).where(*created))).one()
    report.first_response = Durations(int(n), _minutes(med), _minutes(p90))
    n, med, p90 = (await session.execute(select(*_percentiles(res)).where(*created))).one()
    report.resolution = Durations(int(n), _minutes(med), _minutes(p90))

    rated = (Rating.created_at >= since, Rating.created_at < until)
    rows = await session.execute(
        select(Rating.score, func.count()).where(*rated).group_by(Rating.score)
    )
    report.csat_by_score = {score: 0 for score in range(1, 6)}
    for score, count in rows.all():
        report.csat_by_score[int(score)] = int(count)
    report.csat_count = sum(report.csat_by_score.values())
    report.csat_chat_count = int(
        (
            await session.execute(
                select(func.count()).where(*rated, Rating.conversation_id.is_not(None))
            )
        ).scalar_one()
    )
    if report.csat_count:
        total = sum(s * c for s, c in report.csat_by_score.items())
        report.csat_average = round(total / report.csat_count, 2)

    rows = await session.execute(
        select(Ticket.category, func.count())
        .where(*created)
        .group_by(Ticket.category)
        .order_by(func.count().desc(), Ticket.category)
    )
    report.by_category = [(c, int(n)) for c, n in rows.all()]

    csat = (
        select(
            Ticket.assignee_id.label("agent"),
            func.avg(cast(Rating.score, Float)).label("avg"),
            func.count(Rating.id).label("n"),
        )
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(*rated)
        .group_by(Ticket.assignee_id)
    )
    by_agent_csat = {agent: (avg, n) for agent, avg, n in (await session.execute(csat)).all()}
    rows = await session.execute(
        select(
            Ticket.assignee_id,
            User.real_name,
            func.count(),
            func.count(Ticket.resolved_at),
            func.percentile_cont(0.5).within_group(frt),
        )
        .outerjoin(User, User.id == Ticket.assignee_id)
        .where(*created)
        .group_by(Ticket.assignee_id, User.real_name)
        .order_by(func.count().desc(), User.real_name)
    )
    for agent, name, count, resolved, med in rows.all():
        avg, n = by_agent_csat.get(agent, (None, 0))
        report.by_agent.append(
            AgentRow(
                agent,
                name,
                int(count),
                int(resolved),
                _minutes(med),
                None if avg is None else round(float(avg), 2),
                int(n),
            )
        )
    return report


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    width: float  # 0-100: percent of the longest bar
    shown: str


def bars(items: list[tuple[str, float]], fmt: str = "{:g}") -> list[Bar]:
    """Data for a horizontal SVG bar chart drawn server-side (no script)."""
    top = max((v for _, v in items), default=0) or 1
    return [
        Bar(label, value, round(100.0 * value / top, 1), fmt.format(value))
        for label, value in items
    ]
