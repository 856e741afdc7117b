"""JSON shapes of the support reports, ratings and customer actions."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class DurationsOut(BaseModel):
    count: int
    median_minutes: float | None
    p90_minutes: float | None


class CategoryOut(BaseModel):
    category: str
    tickets: int


class AgentOut(BaseModel):
    agent_id: str | None
    name: str | None
    tickets: int
    resolved: int
    median_first_response_minutes: float | None
    csat_average: float | None = Field(description="Of their tickets' and chats' ratings")
    csat_count: int
    chats: int = Field(description="Live chats they took (started in the range)")
    median_chat_first_reply_minutes: float | None = Field(
        default=None, description="From taking a chat to their first message, wall-clock"
    )


class ComplianceOut(BaseModel):
    due: int = Field(description="Tickets whose target has come (due, answered or resolved)")
    met: int
    percent: float | None


class BusinessOut(BaseModel):
    """Ticket times in business minutes (the SLA calendar); resolution less the time waiting
    for the customer; and how many tickets met their SLA targets."""

    first_response: DurationsOut
    resolution: DurationsOut
    first_response_sla: ComplianceOut
    resolution_sla: ComplianceOut


class ChatOut(BaseModel):
    """Live chats started in the range: outcomes, and wall-clock minutes from the hand-off (or
    the queue) to an agent, and from an agent taking it to their first message."""

    conversations: int
    handed_off: int
    with_agent: int
    to_ticket: int
    bot_only: int
    wait: DurationsOut
    first_reply: DurationsOut


class ReportOut(BaseModel):
    start: date
    end: date
    tickets: int
    first_response: DurationsOut
    resolution: DurationsOut
    csat_average: float | None
    csat_count: int
    csat_chat_count: int = 0
    csat_by_score: dict[str, int]
    by_category: list[CategoryOut]
    by_agent: list[AgentOut]
    business_hours: BusinessOut
    chat: ChatOut


class RatingIn(BaseModel):
    score: int
    comment: str | None = None


class RatingOut(BaseModel):
    ticket: str
    score: int
    comment: str | None


class ReasonIn(BaseModel):
    reason: str = Field(
        max_length=500, description="Why (at least 5 characters); kept in the audit log"
    )
