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
    csat_average: float | None
    csat_count: int


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
