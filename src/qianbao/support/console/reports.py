"""Support reports (E10) for a range of local days: first-response and resolution times (median
and 90th percentile, in minutes, wall-clock and in business hours), SLA compliance, CSAT (average
and count, by score; ratings of tickets and of live chats alike, with the chats' share), ticket
volume by category, the live chat's volume, outcomes and times, and per agent (tickets, chats,
CSAT). Tickets and chats count by their creation time; ratings by theirs. Read-only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, cast, func, select

from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.support.chat.models import ChatConversation
from qianbao.support.console.access import require_supervisor
from qianbao.support.console.errors import ReportRangeInvalid
from qianbao.support.console.models import Rating
from qianbao.support.console.reports_more import (
    NO_TIMES,
    ChatFigures,
    Durations,
    TicketBusiness,
    chat_figures,
    ticket_business,
)
from qianbao.support.tickets.models import Ticket

MAX_DAYS = 366


@dataclass(frozen=True)
class AgentRow:
    agent_id: uuid.UUID | None  # None: unassigned
    name: str | None
    tickets: int
    resolved: int
    median_first_response_minutes: float | None
    csat_average: float | None  # of their tickets' and their chats' ratings
    csat_count: int
    chats: int = 0  # live chats they took (started in the range)
    median_chat_first_reply_minutes: float | None = None


@dataclass
class Report:
    start: date
    end: date  # inclusive
    tickets: int = 0
    first_response: Durations = NO_TIMES
    resolution: Durations = NO_TIMES
    csat_average: float | None = None
    csat_count: int = 0
    csat_chat_count: int = 0  # of csat_count: ratings of live-chat conversations
    csat_by_score: dict[int, int] = field(default_factory=dict)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_agent: list[AgentRow] = field(default_factory=list)
    business: TicketBusiness | None = None
    chat: ChatFigures | None = None


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


async def build(
    session: Any, staff: Any, start: date, end: date, *, settings: Any, now: datetime | None = None
) -> Report:
    """``settings`` gives the business calendar of the tickets' SLA; ``now`` decides which due
    times have come (default: the present)."""
    require_supervisor(staff)
    since, until = bounds(start, end)
    report = Report(start=start, end=end)
    now = now or clock_of(session).now()
    report.business = await ticket_business(session, settings, since, until, now)
    report.chat = await chat_figures(session, since, until)
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
    chat_csat = (
        select(
            ChatConversation.agent_id.label("agent"),
            func.sum(Rating.score).label("total"),
            func.count(Rating.id).label("n"),
        )
        .join(ChatConversation, ChatConversation.id == Rating.conversation_id)
        .where(*rated)
        .group_by(ChatConversation.agent_id)
    )
    sums: dict[Any, tuple[float, int]] = {}
    for agent, avg, n in (await session.execute(csat)).all():
        sums[agent] = (float(avg) * int(n), int(n))
    for agent, total, n in (await session.execute(chat_csat)).all():
        before = sums.get(agent, (0.0, 0))
        sums[agent] = (before[0] + float(total), before[1] + int(n))
    by_agent_csat = {a: (total / n if n else None, n) for a, (total, n) in sums.items()}
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
    chats = dict(report.chat.per_agent)
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
                chats.pop(agent, 0) if agent is not None else 0,
                report.chat.per_agent_first_reply.get(agent) if agent is not None else None,
            )
        )
    # Agents who only chatted in the range.
    names = await _names(session, list(chats))
    for agent, n_chats in sorted(chats.items(), key=lambda kv: (-kv[1], names.get(kv[0]) or "")):
        avg, n = by_agent_csat.get(agent, (None, 0))
        report.by_agent.append(
            AgentRow(
                agent,
                names.get(agent),
                0,
                0,
                None,
                None if avg is None else round(float(avg), 2),
                int(n),
                n_chats,
                report.chat.per_agent_first_reply.get(agent),
            )
        )
    return report


async def _names(session: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.real_name).where(User.id.in_(ids)))
    return {i: name for i, name in rows.all()}


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
