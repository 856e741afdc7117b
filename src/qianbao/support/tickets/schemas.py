"""JSON shapes of the ticket API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Category = Literal[
    "account", "topup", "withdrawal", "payment", "security", "complaint", "suggestion", "other"
]
Status = Literal["new", "open", "waiting", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]


class TicketCreate(BaseModel):
    category: Category
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000, description="Plain text")
    intake: dict[str, str] = Field(default_factory=dict, description="Fields of the category")
    transaction_id: str | None = Field(
        default=None, description="One of your own transactions (from the history)"
    )


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=20_000, description="Plain text")


class StaffMessageIn(MessageIn):
    internal: bool = Field(default=False, description="An internal note: customers never see it")
    status: Literal["open", "waiting", "resolved", "closed"] | None = None


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int


class MessageOut(BaseModel):
    id: str
    author: Literal["customer", "agent", "system"]
    body: str
    internal: bool
    via: str
    created_at: datetime
    attachments: list[AttachmentOut]


class TicketOut(BaseModel):
    reference: str
    subject: str
    category: str
    intake: dict[str, str]
    transaction_id: str | None
    status: Status
    priority: Priority
    created_at: datetime
    updated_at: datetime
    merged_into: str | None = None


class TicketDetail(TicketOut):
    messages: list[MessageOut]


class StaffTicketOut(TicketDetail):
    user_id: str | None
    requester_email: str | None
    assignee_id: str | None
    first_response_due: datetime
    resolution_due: datetime
    first_responded_at: datetime | None
    breaching: bool


class AssignIn(BaseModel):
    assignee_id: str | None = Field(default=None, description="A staff member; null: nobody")


class StatusIn(BaseModel):
    status: Literal["open", "waiting", "resolved", "closed"]


class PriorityIn(BaseModel):
    priority: Priority


class MergeIn(BaseModel):
    target: str = Field(min_length=1, max_length=20, description="The reference to merge into")


class CannedIn(BaseModel):
    title: str = Field(min_length=1, max_length=100)
    body_zh: str = Field(min_length=1, max_length=5_000)
    body_en: str = Field(min_length=1, max_length=5_000)


class CannedOut(CannedIn):
    id: int


class TranscriptSent(BaseModel):
    sent_to: str
