"""The parts of the support reports (E10) that SQL percentiles cannot give directly: ticket times
in business hours and SLA compliance (the tickets' own calendar and due times), and the live
chat's figures (volume and outcome, wait for an agent, first agent reply, chats per agent).
Read-only; ``reports.build`` puts them into the report."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from qianbao.support.chat.models import ChatConversation, ChatMessage
from qianbao.support.tickets.models import Ticket
from qianbao.support.tickets.sla import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
)

MAX_ROWS = 200_000  # a year of a busy desk; beyond it the figures cover the first rows only


@dataclass(frozen=True)
class Durations:
    count: int
    median_minutes: float | None
    p90_minutes: float | None


NO_TIMES = Durations(0, None, None)


@dataclass(frozen=True)
class Compliance:
    """Tickets whose target has come (due in the past, or answered/resolved already) and how
    many of them met it."""

    due: int
    met: int

    @property
    def percent(self) -> float | None:
        return None if not self.due else round(100.0 * self.met / self.due, 1)


@dataclass(frozen=True)
class TicketBusiness:
    first_response: Durations  # business minutes from opening to the first response
    resolution: Durations  # business minutes to resolution, less the time waiting for the customer
    first_response_sla: Compliance
    resolution_sla: Compliance


@dataclass(frozen=True)
class ChatFigures:
    conversations: int  # started in the range
    handed_off: int  # asked for a person (to an agent, the queue or a ticket)
    with_agent: int  # an agent took it
    to_ticket: int  # became a ticket (after hours or nobody online)
    bot_only: int  # the bot's articles were all the customer asked for
    wait: Durations  # from the hand-off (or the queue) to an agent, wall-clock minutes
    first_reply: Durations  # from an agent taking it to their first message, wall-clock minutes
    per_agent: dict[uuid.UUID, int]
    per_agent_first_reply: dict[uuid.UUID, float | None]  # median minutes


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def durations(minutes: Sequence[float]) -> Durations:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return Durations(len(minutes), r(quantile(minutes, 0.5)), r(quantile(minutes, 0.9)))


async def ticket_business(
    session: Any, settings: Any, since: datetime, until: datetime, now: datetime
) -> TicketBusiness:
    cal = BusinessCalendar.from_settings(settings)
    targets = settings.tickets.first_response_hours
    rows = await session.execute(
        select(
            Ticket.priority,
            Ticket.created_at,
            Ticket.first_responded_at,
            Ticket.resolved_at,
            Ticket.paused_hours,
            Ticket.first_response_due,
            Ticket.resolution_due,
        )
        .where(Ticket.created_at >= since, Ticket.created_at < until, Ticket.merged_into.is_(None))
        .limit(MAX_ROWS)
    )
    frt: list[float] = []
    res: list[float] = []
    f_due = f_met = r_due = r_met = 0
    for priority, created, answered, resolved, paused, first_due, resolve_due in rows.all():
        # The first response's target never waits for the customer (nothing was asked of them
        # yet), but the ticket's due time moves with every business hour spent waiting later
        # (tickets.service.recompute_sla): a late first answer read as "in time" once the
        # customer had been waited for. Its own target (or the earlier time the desk promised,
        # for a chat turned into a ticket after hours) decides.
        if priority in targets:
            first_due = min(first_due, add_business_hours(created, targets[priority], cal))
        if answered is not None:
            frt.append(60 * business_hours_between(created, answered, cal))
        if resolved is not None:
            res.append(max(0.0, 60 * (business_hours_between(created, resolved, cal) - paused)))
        if answered is not None or first_due <= now:
            f_due += 1
            f_met += answered is not None and answered <= first_due
        if resolved is not None or resolve_due <= now:
            r_due += 1
            r_met += resolved is not None and resolved <= resolve_due
    return TicketBusiness(
        durations(frt), durations(res), Compliance(f_due, f_met), Compliance(r_due, r_met)
    )


async def chat_figures(session: Any, since: datetime, until: datetime) -> ChatFigures:
    in_range = (ChatConversation.created_at >= since, ChatConversation.created_at < until)
    first_agent_message = (
        select(
            ChatMessage.conversation_id.label("cid"),
            func.min(ChatMessage.created_at).label("at"),
        )
        .where(ChatMessage.sender == "agent")
        .group_by(ChatMessage.conversation_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            ChatConversation.agent_id,
            ChatConversation.queued_at,
            ChatConversation.assigned_at,
            ChatConversation.ticket_id,
            first_agent_message.c.at,
        )
        .outerjoin(first_agent_message, first_agent_message.c.cid == ChatConversation.id)
        .where(*in_range)
        .limit(MAX_ROWS)
    )
    total = handed = with_agent = to_ticket = 0
    wait: list[float] = []
    first_reply: list[float] = []
    per_agent: dict[uuid.UUID, int] = {}
    replies: dict[uuid.UUID, list[float]] = {}
    for agent_id, queued_at, assigned_at, ticket_id, replied_at in rows.all():
        total += 1
        if assigned_at is not None or queued_at is not None or ticket_id is not None:
            handed += 1
        if ticket_id is not None:
            to_ticket += 1
        if assigned_at is not None:
            with_agent += 1
            wait.append(max(0.0, (assigned_at - (queued_at or assigned_at)).total_seconds() / 60))
            reply = None
            if replied_at is not None:
                reply = max(0.0, (replied_at - assigned_at).total_seconds() / 60)
                first_reply.append(reply)
            if agent_id is not None:
                per_agent[agent_id] = per_agent.get(agent_id, 0) + 1
                if reply is not None:
                    replies.setdefault(agent_id, []).append(reply)
    return ChatFigures(
        conversations=total,
        handed_off=handed,
        with_agent=with_agent,
        to_ticket=to_ticket,
        bot_only=total - handed,
        wait=durations(wait),
        first_reply=durations(first_reply),
        per_agent=per_agent,
        per_agent_first_reply={a: durations(m).median_minutes for a, m in replies.items()},
    )
