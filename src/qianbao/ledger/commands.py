"""Ledger commands (what callers ask for) and results (what they get back).

Every command carries an idempotency ``key``. The fingerprint covers everything else, so a replay
of the same request returns the first result and the same key with another request is refused.
Amounts are integer minor units; a leg's amount is signed: positive credits the account (raises
its balance), negative debits it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from qianbao.kernel.errors import IdempotencyKeyInvalid
from qianbao.ledger.errors import InvalidEntry

MAX_KEY_LENGTH = 200


def _canonical(metadata: Mapping[str, Any] | None) -> str:
    if not metadata:
        return "{}"
    return json.dumps(
        metadata or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def check_key(key: str) -> None:
    if not isinstance(key, str) or not (0 < len(key) <= MAX_KEY_LENGTH) or not key.isprintable():
        raise IdempotencyKeyInvalid()


class Leg(NamedTuple):
    account_id: int
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class PostEntry:
    key: str
    legs: tuple[Leg, ...]
    entry_type: str = "transfer"
    metadata: Mapping[str, Any] | None = None
    effective_at: datetime | None = None
    kind: str = field(default="entry", init=False)

    def validate(self) -> None:
        check_key(self.key)
        if not self.entry_type:
            raise InvalidEntry(reason="entry_type is empty")
        if len(self.legs) < 2:
            raise InvalidEntry(reason="an entry needs at least two postings")
        totals: dict[str, int] = {}
        for leg in self.legs:
            if type(leg.amount) is not int or leg.amount == 0:
                raise InvalidEntry(reason="every posting needs a non-zero whole amount")
            totals[leg.currency] = totals.get(leg.currency, 0) + leg.amount
        if any(totals.values()):
            raise InvalidEntry(reason="the postings do not sum to zero in each currency")

    def fingerprint(self) -> bytes:
        legs = ";".join(f"{leg.account_id}:{leg.amount}:{leg.currency}" for leg in self.legs)
        eff = self.effective_at.isoformat() if self.effective_at else ""
        raw = f"entry|{self.entry_type}|{legs}|{eff}|{_canonical(self.metadata)}"
        return hashlib.sha256(raw.encode()).digest()


def transfer(
    key: str,
    *,
    debit_account_id: int,
    credit_account_id: int,
    amount: int,
    currency: str,
    entry_type: str = "transfer",
    metadata: Mapping[str, Any] | None = None,
    fee: int = 0,
    fee_account_id: int | None = None,
    effective_at: datetime | None = None,
) -> PostEntry:
    """A transfer of ``amount`` from one account to another; with a fee, the payer is debited
    ``amount + fee`` and the fee goes to ``fee_account_id`` as its own leg."""
    if type(amount) is not int or amount <= 0:
        raise InvalidEntry(reason="the amount must be positive")
    if debit_account_id == credit_account_id:
        raise InvalidEntry(reason="the two accounts must differ")
    legs = [
        Leg(debit_account_id, -(amount + fee), currency),
        Leg(credit_account_id, amount, currency),
    ]
    if fee:
        if fee < 0 or fee_account_id is None:
            raise InvalidEntry(reason="a fee must be positive and have a fee account")
        legs.append(Leg(fee_account_id, fee, currency))
    return PostEntry(
        key=key,
        legs=tuple(legs),
        entry_type=entry_type,
        metadata=metadata,
        effective_at=effective_at,
    )


@dataclass(frozen=True, slots=True)
class CreateHold:
    key: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    currency: str
    entry_type: str = "transfer"
    metadata: Mapping[str, Any] | None = None
    expires_at: datetime | None = None
    # An operator's recovery (a dispute): the debit account's freeze does not stop it — its owner
    # is not the one moving the money. A closed account still does.
    recovery: bool = False
    kind: str = field(default="hold", init=False)

    def validate(self) -> None:
        check_key(self.key)
        if type(self.amount) is not int or self.amount <= 0:
            raise InvalidEntry(reason="the amount must be positive")
        if self.debit_account_id == self.credit_account_id:
            raise InvalidEntry(reason="the two accounts must differ")

    def fingerprint(self) -> bytes:
        exp = self.expires_at.isoformat() if self.expires_at else ""
        raw = (
            f"hold|{self.debit_account_id}|{self.credit_account_id}|{self.amount}|{self.currency}|"
            f"{self.entry_type}|{exp}|{_canonical(self.metadata)}"
            + ("|recovery" if self.recovery else "")
        )
        return hashlib.sha256(raw.encode()).digest()


@dataclass(frozen=True, slots=True)
class PostHold:
    key: str
    hold_id: UUID
    amount: int | None = None  # None: the full amount held
    metadata: Mapping[str, Any] | None = None
    recovery: bool = False  # as CreateHold's: posted although the debit account was frozen since
    kind: str = field(default="post_hold", init=False)

    def validate(self) -> None:
        check_key(self.key)
        if self.amount is not None and (type(self.amount) is not int or self.amount <= 0):
            raise InvalidEntry(reason="the amount must be positive")

    def fingerprint(self) -> bytes:
        raw = f"post_hold|{self.hold_id}|{self.amount}|{_canonical(self.metadata)}"
        raw += "|recovery" if self.recovery else ""
        return hashlib.sha256(raw.encode()).digest()


@dataclass(frozen=True, slots=True)
class VoidHold:
    key: str
    hold_id: UUID
    reason: str = ""
    kind: str = field(default="void_hold", init=False)

    def validate(self) -> None:
        check_key(self.key)

    def fingerprint(self) -> bytes:
        return hashlib.sha256(f"void_hold|{self.hold_id}|{self.reason}".encode()).digest()


@dataclass(frozen=True, slots=True)
class Reverse:
    key: str
    entry_id: UUID
    metadata: Mapping[str, Any] | None = None
    entry_type: str = "reversal"
    kind: str = field(default="reverse", init=False)

    def validate(self) -> None:
        check_key(self.key)

    def fingerprint(self) -> bytes:
        raw = f"reverse|{self.entry_id}|{self.entry_type}|{_canonical(self.metadata)}"
        return hashlib.sha256(raw.encode()).digest()


Command = PostEntry | CreateHold | PostHold | VoidHold | Reverse


# -- results -----------------------------------------------------------------------------------
class PostingResult(NamedTuple):
    account_id: int
    currency: str
    amount: int
    balance_after: int


@dataclass(slots=True)  # not frozen: frozen dataclasses are slow to build on the hot path
class EntryResult:
    entry_id: UUID
    entry_type: str
    postings: tuple[PostingResult, ...]
    replayed: bool = False
    reverses_entry_id: UUID | None = None
    hold_id: UUID | None = None


@dataclass(slots=True)
class HoldResult:
    hold_id: UUID
    status: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    currency: str
    expires_at: datetime | None
    replayed: bool = False


Result = EntryResult | HoldResult
