"""JSON shapes of the official-channel and call-back API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["phone", "website", "email", "social", "agent_id"]


class VerifyOut(BaseModel):
    """Yes or no, and for yes the channel's label. Nothing else is ever revealed."""

    official: bool = Field(description="True: this is one of our active official channels")
    kind: Kind | None = Field(default=None, description="Only when official")
    label: str | None = Field(
        default=None,
        description="Only when official: what the channel is (an agent's name and id)",
    )
    locale: Literal["zh_CN", "zh_Hant", "en"]


class ChannelIn(BaseModel):
    kind: Literal["phone", "website", "email", "social"] = Field(
        description="Agent ids are given to staff automatically"
    )
    value: str = Field(
        min_length=1,
        max_length=2000,
        description="Any usual spelling; stored normalised (E.164, host, lower-case e-mail, "
        "'platform:handle')",
    )
    label_zh: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)


class ChannelOut(BaseModel):
    id: str
    kind: Kind
    value: str
    label_zh: str
    label_en: str
    active: bool
    source: Literal["operator", "settings", "staff"]
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class CallbackIn(BaseModel):
    window: str = Field(
        max_length=16, description="'asap' or a slot of the hotline's hours such as '09-12'"
    )
    topic: Literal["account", "topup", "withdrawal", "payment", "fraud", "other"]
    note: str = Field(default="", max_length=500)


class CallbackOut(BaseModel):
    id: str
    status: Literal["new", "done"]
    window: str
    topic: str
    note: str
    phone: str = Field(description="Masked for the customer, in full for staff")
    created_at: datetime
    done_at: datetime | None
    ticket: str | None = Field(
        default=None, description="The reference of the ticket the request opened (T…)"
    )
