"""The rows a batch works on, held in memory while the batch runs (see ``engine``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from qianbao.ledger.errors import (
    AccountClosed,
    AccountDebitFrozen,
    AccountFrozen,
    InsufficientFunds,
    WouldGoPositive,
)


class AccountState:
    __slots__ = (
        "changes",
        "currency",
        "id",
        "no_negative",
        "no_positive",
        "pending_in",
        "pending_out",
        "posted",
        "status",
    )

    def __init__(
        self,
        id: int,
        currency: str,
        no_negative: bool,
        no_positive: bool,
        status: str,
        posted: int,
        pending_out: int,
        pending_in: int,
    ) -> None:
        self.id = id
        self.currency = currency
        self.no_negative = no_negative
        self.no_positive = no_positive
        self.status = status
        self.posted = posted
        self.pending_out = pending_out
        self.pending_in = pending_in
        self.changes = 0

    def check_can_move(self, *, debit: bool, despite_freeze: bool = False) -> None:
        status = self.status
        if status == "active":
            return
        if status == "closed":
            raise AccountClosed()
        if despite_freeze:  # an operator's recovery from a frozen account
            return
        if status == "frozen":
            raise AccountFrozen()
        if debit:  # debit_frozen: money may come in, not go out
            raise AccountDebitFrozen()

    def check_flags(self, posted: int, pending_out: int, pending_in: int) -> None:
        if self.no_negative and posted - pending_out < 0:
            raise InsufficientFunds()
        if self.no_positive and posted + pending_in > 0:
            raise WouldGoPositive()


@dataclass
class HoldState:
    id: UUID
    debit_account_id: int
    credit_account_id: int
    currency: str
    amount: int
    status: str
    entry_type: str
    metadata: str
    expires_at: datetime | None
    posted_amount: int | None = None
    entry_id: UUID | None = None
    created_here: bool = False
    changed: bool = False


@dataclass
class ReversibleEntry:
    postings: list[tuple[int, int, str]]  # (account_id, amount, currency)
    reversed: bool


@dataclass(frozen=True, slots=True)
class Replay:
    """The key was used before for the same request: the stored result is returned."""

    key: str
    kind: str
    entry_id: UUID | None
    hold_id: UUID | None


@dataclass(slots=True)
class ExistingCommand:
    fingerprint: bytes
    kind: str
    entry_id: UUID | None
    hold_id: UUID | None


@dataclass
class Writes:
    entry_ids: list[UUID] = field(default_factory=list)
    entry_types: list[str] = field(default_factory=list)
    entry_metadata: list[str] = field(default_factory=list)
    entry_effective: list[datetime] = field(default_factory=list)
    entry_reverses: list[UUID | None] = field(default_factory=list)
    entry_holds: list[UUID | None] = field(default_factory=list)
    posting_entry: list[UUID] = field(default_factory=list)
    posting_account: list[int] = field(default_factory=list)
    posting_currency: list[str] = field(default_factory=list)
    posting_amount: list[int] = field(default_factory=list)
    posting_balance: list[int] = field(default_factory=list)
    command_keys: list[str] = field(default_factory=list)
    command_fingerprints: list[bytes] = field(default_factory=list)
    command_kinds: list[str] = field(default_factory=list)
    command_entries: list[UUID | None] = field(default_factory=list)
    command_holds: list[UUID | None] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.command_keys and not self.entry_ids
