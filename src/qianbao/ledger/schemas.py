"""JSON shapes of the operator read API. Amounts are decimal strings with their currency."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from qianbao.kernel.money import Money


def amount(minor: int, currency: str) -> str:
    return Money(minor, currency).to_decimal_string()


class AccountRead(BaseModel):
    id: int
    currency: str
    kind: str
    owner_id: UUID | None
    code: str | None
    status: str
    no_negative: bool
    no_positive: bool
    posted: str
    pending_out: str
    pending_in: str
    available: str
    version: int
    created_at: datetime


class BalancesRead(BaseModel):
    account_id: int
    currency: str
    posted: str
    pending_out: str
    pending_in: str
    available: str
    as_of: datetime | None


class PostingRead(BaseModel):
    account_id: int
    currency: str
    amount: str
    balance_after: str


class EntryRead(BaseModel):
    id: UUID
    entry_type: str
    metadata: dict[str, Any]
    effective_at: datetime
    created_at: datetime
    reverses_entry_id: UUID | None
    reversed_by: UUID | None
    hold_id: UUID | None
    postings: list[PostingRead]


class StatementLineRead(BaseModel):
    posting_id: int
    entry_id: UUID
    entry_type: str
    amount: str
    balance_after: str
    created_at: datetime
    effective_at: datetime
    metadata: dict[str, Any]


class StatementRead(BaseModel):
    account_id: int
    currency: str
    lines: list[StatementLineRead]
    next_cursor: str | None


class HoldRead(BaseModel):
    id: UUID
    debit_account_id: int
    credit_account_id: int
    currency: str
    amount: str
    posted_amount: str | None
    status: str
    entry_type: str
    metadata: dict[str, Any]
    expires_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None
    entry_id: UUID | None
