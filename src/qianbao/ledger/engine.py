"""The ledger's state machine for one batch, in memory and pure.

The repository locks the rows a batch touches (holds, then accounts, in ascending id order), loads
them into a ``Batch``, and the batch applies the commands one after the other, each one either
fully (all its checks pass) or not at all. What it produces is written back by one bulk statement.
Nothing here does I/O, which keeps the money rules in one readable, testable place.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from qianbao.kernel.errors import DomainError, IdempotencyKeyReused
from qianbao.kernel.ids import uuid7
from qianbao.ledger.commands import (
    Command,
    CreateHold,
    EntryResult,
    HoldResult,
    Leg,
    PostEntry,
    PostHold,
    PostingResult,
    Result,
    Reverse,
    VoidHold,
)
from qianbao.ledger.errors import (
    AccountNotFound,
    AlreadyReversed,
    CurrencyMismatch,
    EntryNotFound,
    HoldAmountExceeded,
    HoldExpired,
    HoldNotFound,
    HoldNotPending,
)
from qianbao.ledger.state import (
    AccountState,
    ExistingCommand,
    HoldState,
    Replay,
    ReversibleEntry,
    Writes,
)

EMPTY_JSON = "{}"
_HANDLERS = {
    "entry": "_post_entry",
    "hold": "_create_hold",
    "post_hold": "_post_hold",
    "void_hold": "_void_hold",
    "reverse": "_reverse",
}


Outcome = Result | Replay | DomainError


class Batch:
    def __init__(
        self,
        *,
        now: datetime,
        accounts: dict[int, AccountState],
        holds: dict[UUID, HoldState],
        reversible: dict[UUID, ReversibleEntry],
        existing: dict[str, ExistingCommand],
    ) -> None:
        self.now = now
        self.accounts = accounts
        self.holds = holds
        self.reversible = reversible
        self.existing = existing
        self.writes = Writes()
        self.seen: dict[str, tuple[bytes, Outcome]] = {}
        self.new_entries: dict[UUID, list[PostingResult]] = {}

    # -- driving ----------------------------------------------------------------------------------
    def run(self, commands: list[Command]) -> list[Outcome]:
        return [self.apply(cmd) for cmd in commands]

    def apply(self, cmd: Command) -> Outcome:
        fingerprint = cmd.fingerprint()
        known = self.existing.get(cmd.key)
        if known is not None:
            if known.fingerprint != fingerprint:
                return IdempotencyKeyReused()
            return Replay(cmd.key, known.kind, known.entry_id, known.hold_id)
        earlier = self.seen.get(cmd.key)
        if earlier is not None:
            if earlier[0] != fingerprint:
                return IdempotencyKeyReused()
            first = earlier[1]
            return _as_replay(first)
        try:
            outcome: Outcome = self._dispatch(cmd, fingerprint)
        except DomainError as error:
            return error
        self.seen[cmd.key] = (fingerprint, outcome)
        return outcome

    def _dispatch(self, cmd: Command, fingerprint: bytes) -> Result:
        result: Result = getattr(self, _HANDLERS[cmd.kind])(cmd)
        w = self.writes
        w.command_keys.append(cmd.key)
        w.command_fingerprints.append(fingerprint)
        w.command_kinds.append(cmd.kind)
        w.command_entries.append(getattr(result, "entry_id", None))
        w.command_holds.append(result.hold_id)
        return result

    # -- entries ----------------------------------------------------------------------------------
    def _account(self, account_id: int) -> AccountState:
        acc = self.accounts.get(account_id)
        if acc is None:
            raise AccountNotFound()
        return acc

    def _apply_legs(
        self,
        legs: tuple[Leg, ...] | list[Leg],
        *,
        pending_release: dict[int, tuple[int, int]] | None = None,
        despite_freeze: int | None = None,
    ) -> list[PostingResult]:
        """Check every leg against the staged state, then apply them all (or none)."""
        # Refusal order: unknown account / wrong currency, then frozen, then funds.
        for leg in legs:
            if self._account(leg.account_id).currency != leg.currency:
                raise CurrencyMismatch()
        staged: dict[int, int] = {}
        for leg in legs:
            acc = self.accounts[leg.account_id]
            acc.check_can_move(debit=leg.amount < 0, despite_freeze=acc.id == despite_freeze)
            staged[acc.id] = staged.get(acc.id, acc.posted) + leg.amount
        release = pending_release or {}
        for acc_id, posted in staged.items():
            acc = self.accounts[acc_id]
            out_release, in_release = release.get(acc_id, (0, 0))
            acc.check_flags(posted, acc.pending_out - out_release, acc.pending_in - in_release)
        for acc_id, (out_release, in_release) in release.items():
            acc = self.accounts[acc_id]
            acc.pending_out -= out_release
            acc.pending_in -= in_release
            acc.changes += 1
        postings = []
        for leg in legs:
            acc = self.accounts[leg.account_id]
            acc.posted += leg.amount
            acc.changes += 1
            postings.append(PostingResult(acc.id, leg.currency, leg.amount, acc.posted))
        return postings

    def _write_entry(
        self,
        entry_type: str,
        metadata: Any,
        effective_at: datetime | None,
        postings: list[PostingResult],
        *,
        reverses: UUID | None = None,
        hold_id: UUID | None = None,
    ) -> EntryResult:
        entry_id = uuid7()
        w = self.writes
        w.entry_ids.append(entry_id)
        w.entry_types.append(entry_type)
        w.entry_metadata.append(
            metadata
            if isinstance(metadata, str)
            else (json.dumps(metadata, ensure_ascii=False, default=str) if metadata else EMPTY_JSON)
        )
        w.entry_effective.append(effective_at or self.now)
        w.entry_reverses.append(reverses)
        w.entry_holds.append(hold_id)
        for p in postings:
            w.posting_entry.append(entry_id)
            w.posting_account.append(p.account_id)
            w.posting_currency.append(p.currency)
            w.posting_amount.append(p.amount)
            w.posting_balance.append(p.balance_after)
        self.new_entries[entry_id] = postings
        return EntryResult(
            entry_id=entry_id,
            entry_type=entry_type,
            postings=tuple(postings),
            reverses_entry_id=reverses,
            hold_id=hold_id,
        )

    def _post_entry(self, cmd: PostEntry) -> EntryResult:
        postings = self._apply_legs(cmd.legs)
        return self._write_entry(cmd.entry_type, cmd.metadata, cmd.effective_at, postings)

    def _reverse(self, cmd: Reverse) -> EntryResult:
        original = self.reversible.get(cmd.entry_id)
        if original is None and cmd.entry_id in self.new_entries:  # written earlier in this batch
            original = self.reversible[cmd.entry_id] = ReversibleEntry(
                [(p.account_id, p.amount, p.currency) for p in self.new_entries[cmd.entry_id]],
                reversed=False,
            )
        if original is None:
            raise EntryNotFound()
        if original.reversed:
            raise AlreadyReversed()
        legs = [Leg(acc, -amount, cur) for acc, amount, cur in original.postings]
        postings = self._apply_legs(legs)
        original.reversed = True
        metadata = {"reverses": str(cmd.entry_id), **dict(cmd.metadata or {})}
        return self._write_entry(cmd.entry_type, metadata, None, postings, reverses=cmd.entry_id)

    # -- holds ------------------------------------------------------------------------------------
    def _hold(self, hold_id: UUID) -> HoldState:
        hold = self.holds.get(hold_id)
        if hold is None:
            raise HoldNotFound()
        return hold

    def _create_hold(self, cmd: CreateHold) -> HoldResult:
        debit = self._account(cmd.debit_account_id)
        credit = self._account(cmd.credit_account_id)
        if debit.currency != cmd.currency or credit.currency != cmd.currency:
            raise CurrencyMismatch()
        debit.check_can_move(debit=True, despite_freeze=cmd.recovery)
        credit.check_can_move(debit=False)
        debit.check_flags(debit.posted, debit.pending_out + cmd.amount, debit.pending_in)
        credit.check_flags(credit.posted, credit.pending_out, credit.pending_in + cmd.amount)
        debit.pending_out += cmd.amount
        credit.pending_in += cmd.amount
        debit.changes += 1
        credit.changes += 1
        hold = HoldState(
            id=uuid7(),
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            currency=cmd.currency,
            amount=cmd.amount,
            status="pending",
            entry_type=cmd.entry_type,
            metadata=json.dumps(cmd.metadata, ensure_ascii=False, default=str)
            if cmd.metadata
            else EMPTY_JSON,
            expires_at=cmd.expires_at,
            created_here=True,
        )
        self.holds[hold.id] = hold
        return _hold_result(hold)

    def _check_pending(self, hold: HoldState) -> None:
        if hold.status != "pending":
            raise HoldNotPending(status=hold.status)

    def _post_hold(self, cmd: PostHold) -> EntryResult:
        hold = self._hold(cmd.hold_id)
        self._check_pending(hold)
        if hold.expires_at is not None and hold.expires_at <= self.now:
            raise HoldExpired()
        amount = hold.amount if cmd.amount is None else cmd.amount
        if amount > hold.amount:
            raise HoldAmountExceeded()
        release = {hold.debit_account_id: (hold.amount, 0)}
        out_d, in_d = release.get(hold.credit_account_id, (0, 0))
        release[hold.credit_account_id] = (out_d, in_d + hold.amount)
        legs = [
            Leg(hold.debit_account_id, -amount, hold.currency),
            Leg(hold.credit_account_id, amount, hold.currency),
        ]
        postings = self._apply_legs(
            legs,
            pending_release=release,
            despite_freeze=hold.debit_account_id if cmd.recovery else None,
        )
        metadata = (
            hold.metadata if not cmd.metadata else {**json.loads(hold.metadata), **cmd.metadata}
        )
        result = self._write_entry(hold.entry_type, metadata, None, postings, hold_id=hold.id)
        hold.status = "posted"
        hold.posted_amount = amount
        hold.entry_id = result.entry_id
        hold.changed = True
        return result

    def _release(self, hold: HoldState, status: str) -> None:
        debit = self._account(hold.debit_account_id)
        credit = self._account(hold.credit_account_id)
        debit.pending_out -= hold.amount
        credit.pending_in -= hold.amount
        debit.changes += 1
        credit.changes += 1
        hold.status = status
        hold.changed = True

    def _void_hold(self, cmd: VoidHold) -> HoldResult:
        hold = self._hold(cmd.hold_id)
        self._check_pending(hold)
        self._release(hold, "voided")
        return _hold_result(hold)

    def expire(self, hold_ids: list[UUID]) -> int:
        """Release holds whose time is up (the sweeper): no key, no entry."""
        n = 0
        for hold_id in hold_ids:
            hold = self.holds.get(hold_id)
            if hold is None or hold.status != "pending":
                continue
            if hold.expires_at is None or hold.expires_at > self.now:
                continue
            self._release(hold, "expired")
            n += 1
        return n

    # -- what to write back ----------------------------------------------------------------------
    def touched_accounts(self) -> list[AccountState]:
        return [acc for acc in self.accounts.values() if acc.changes]

    def new_holds(self) -> list[HoldState]:
        return [h for h in self.holds.values() if h.created_here]

    def changed_holds(self) -> list[HoldState]:
        return [h for h in self.holds.values() if h.changed and not h.created_here]


def _hold_result(hold: HoldState, *, replayed: bool = False) -> HoldResult:
    return HoldResult(
        hold_id=hold.id,
        status=hold.status,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount=hold.amount,
        currency=hold.currency,
        expires_at=hold.expires_at,
        replayed=replayed,
    )


def _as_replay(outcome: Outcome) -> Outcome:
    if isinstance(outcome, EntryResult):
        return EntryResult(
            entry_id=outcome.entry_id,
            entry_type=outcome.entry_type,
            postings=outcome.postings,
            replayed=True,
            reverses_entry_id=outcome.reverses_entry_id,
            hold_id=outcome.hold_id,
        )
    if isinstance(outcome, HoldResult):
        return HoldResult(**{**_hold_fields(outcome), "replayed": True})
    return outcome


def _hold_fields(result: HoldResult) -> dict[str, Any]:
    return {
        "hold_id": result.hold_id,
        "status": result.status,
        "debit_account_id": result.debit_account_id,
        "credit_account_id": result.credit_account_id,
        "amount": result.amount,
        "currency": result.currency,
        "expires_at": result.expires_at,
    }
