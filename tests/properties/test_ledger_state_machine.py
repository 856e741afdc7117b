"""A Hypothesis state machine drives the ledger on a real PostgreSQL and checks it against a model.

After every step: each entry sums to zero per currency; all balances sum to zero; each stored
balance equals the sum of its postings and the model's balance; no account breaks its flags; one
key maps to at most one entry, and replays return the first result.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from qianbao.kernel.clock import FrozenClock
from qianbao.kernel.db import asyncpg_dsn
from qianbao.kernel.errors import DomainError, IdempotencyKeyReused
from qianbao.ledger import CreateHold, Ledger, PostHold, Reverse, VoidHold, accounts, transfer
from qianbao.ledger import errors as le
from tests.integration.ledger_helpers import check_invariants

DB_URL: dict[str, str] = {}


@dataclass
class ModelAccount:
    id: int
    currency: str
    no_negative: bool
    posted: int = 0
    pending_out: int = 0
    pending_in: int = 0
    status: str = "active"


@dataclass
class ModelHold:
    id: uuid.UUID
    debit: int
    credit: int
    amount: int
    expires_at: datetime | None
    status: str = "pending"


@dataclass
class ModelEntry:
    id: uuid.UUID
    legs: list[tuple[int, int]]
    reversed: bool = False


@dataclass
class Issued:
    command: object
    outcome: object = None
    postings: tuple = field(default_factory=tuple)


class LedgerMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")
    holds = Bundle("holds")
    entries = Bundle("entries")
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.run(asyncpg.connect(asyncpg_dsn(DB_URL["url"])))
        self.clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.ledger = Ledger(self.conn, clock=self.clock)
        self.model: dict[int, ModelAccount] = {}
        self.model_holds: dict[uuid.UUID, ModelHold] = {}
        self.model_entries: dict[uuid.UUID, ModelEntry] = {}
        self.issued: dict[str, Issued] = {}

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.conn.close())
        self.loop.close()

    # -- helpers ------------------------------------------------------------------------------------
    def _key(self) -> str:
        return f"sm-{uuid.uuid4().hex}"

    def _can_move(self, acc: ModelAccount, debit: bool) -> DomainError | None:
        if acc.status == "closed":
            return le.AccountClosed()
        if acc.status == "frozen":
            return le.AccountFrozen()
        if acc.status == "debit_frozen" and debit:
            return le.AccountDebitFrozen()
        return None

    def _execute(self, cmd) -> object:
        return self.run(self.ledger.execute([cmd]))[0]

    # -- rules --------------------------------------------------------------------------------------
    @initialize(target=accounts)
    def starting_accounts(self):
        """A funding source and two funded wallets per currency, so money moves from step one."""
        made = []
        for currency in ("CNY", "USD"):
            made.append(self.open_account(currency, source=True))
            for _ in range(2):
                wallet = self.open_account(currency, source=False)
                self._fund(self._source(currency), wallet, 10_000)
                made.append(wallet)
        return multiple(*made)

    def _source(self, currency: str) -> int:
        return next(
            a.id for a in self.model.values() if a.currency == currency and not a.no_negative
        )

    def _fund(self, source: int, wallet: int, amount: int) -> None:
        cmd = transfer(
            self._key(),
            debit_account_id=source,
            credit_account_id=wallet,
            amount=amount,
            currency=self.model[wallet].currency,
        )
        outcome = self._execute(cmd)
        assert not isinstance(outcome, DomainError), outcome
        self.model[source].posted -= amount
        self.model[wallet].posted += amount

    @rule(target=accounts, currency=st.sampled_from(["CNY", "USD"]), source=st.booleans())
    def open_account(self, currency: str, source: bool) -> int:
        kind = "equity" if source else "user_wallet"
        acc, _ = self.run(
            accounts.open_account(
                self.conn, key=self._key(), currency=currency, kind=kind, owner_id=uuid.uuid4()
            )
        )
        self.model[acc.id] = ModelAccount(acc.id, currency, no_negative=not source)
        return acc.id

    @rule(target=entries, debit=accounts, credit=accounts, amount=st.integers(1, 5_000))
    def transfer(self, debit: int, credit: int, amount: int):
        d, c = self.model[debit], self.model[credit]
        if debit == credit:
            return uuid.uuid4()  # nothing to do: an id no entry has
        cmd = transfer(
            self._key(),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            currency=d.currency,
        )
        expected: DomainError | None
        if d.currency != c.currency:
            expected = le.CurrencyMismatch()
        else:
            expected = self._can_move(d, True) or self._can_move(c, False)
            if expected is None and d.no_negative and d.posted - amount - d.pending_out < 0:
                expected = le.InsufficientFunds()
        outcome = self._execute(cmd)
        self.issued[cmd.key] = Issued(cmd, outcome)
        if expected is not None:
            assert type(outcome) is type(expected), (outcome, expected)
            return uuid.uuid4()
        assert not isinstance(outcome, DomainError), outcome
        d.posted -= amount
        c.posted += amount
        self.model_entries[outcome.entry_id] = ModelEntry(
            outcome.entry_id, [(debit, -amount), (credit, amount)]
        )
        return outcome.entry_id

    @rule(
        target=holds,
        debit=accounts,
        credit=accounts,
        amount=st.integers(1, 5_000),
        ttl=st.sampled_from([None, 5, 60]),
    )
    def create_hold(self, debit: int, credit: int, amount: int, ttl: int | None):
        d, c = self.model[debit], self.model[credit]
        if debit == credit or d.currency != c.currency:
            return uuid.uuid4()
        expires = self.clock.now() + timedelta(minutes=ttl) if ttl else None
        cmd = CreateHold(self._key(), debit, credit, amount, d.currency, expires_at=expires)
        expected = self._can_move(d, True) or self._can_move(c, False)
        if expected is None and d.no_negative and d.posted - d.pending_out - amount < 0:
            expected = le.InsufficientFunds()
        outcome = self._execute(cmd)
        self.issued[cmd.key] = Issued(cmd, outcome)
        if expected is not None:
            assert type(outcome) is type(expected), (outcome, expected)
            return uuid.uuid4()
        assert not isinstance(outcome, DomainError), outcome
        d.pending_out += amount
        c.pending_in += amount
        self.model_holds[outcome.hold_id] = ModelHold(
            outcome.hold_id, debit, credit, amount, expires
        )
        return outcome.hold_id

    @rule(target=entries, hold_id=holds, fraction=st.sampled_from([None, 1, 2, 3]))
    def post_hold(self, hold_id: uuid.UUID, fraction: int | None):
        hold = self.model_holds.get(hold_id)
        amount = None if hold is None or fraction is None else max(1, hold.amount // fraction)
        cmd = PostHold(self._key(), hold_id, amount=amount)
        outcome = self._execute(cmd)
        self.issued[cmd.key] = Issued(cmd, outcome)
        if hold is None:
            assert isinstance(outcome, le.HoldNotFound)
            return uuid.uuid4()
        d, c = self.model[hold.debit], self.model[hold.credit]
        expected: DomainError | None = None
        if hold.status != "pending":
            expected = le.HoldNotPending()
        elif hold.expires_at is not None and hold.expires_at <= self.clock.now():
            expected = le.HoldExpired()
        else:
            expected = self._can_move(d, True) or self._can_move(c, False)
        if expected is not None:
            assert type(outcome) is type(expected), (outcome, expected)
            return uuid.uuid4()
        assert not isinstance(outcome, DomainError), outcome
        amount = hold.amount if amount is None else amount
        d.pending_out -= hold.amount
        c.pending_in -= hold.amount
        d.posted -= amount
        c.posted += amount
        hold.status = "posted"
        self.model_entries[outcome.entry_id] = ModelEntry(
            outcome.entry_id, [(hold.debit, -amount), (hold.credit, amount)]
        )
        return outcome.entry_id

    @rule(hold_id=holds)
    def void_hold(self, hold_id: uuid.UUID):
        hold = self.model_holds.get(hold_id)
        cmd = VoidHold(self._key(), hold_id)
        outcome = self._execute(cmd)
        self.issued[cmd.key] = Issued(cmd, outcome)
        if hold is None:
            assert isinstance(outcome, le.HoldNotFound)
        elif hold.status != "pending":
            assert isinstance(outcome, le.HoldNotPending)
        else:
            assert not isinstance(outcome, DomainError), outcome
            self.model[hold.debit].pending_out -= hold.amount
            self.model[hold.credit].pending_in -= hold.amount
            hold.status = "voided"

    @rule(minutes=st.sampled_from([1, 10, 90]))
    def time_passes_and_holds_expire(self, minutes: int):
        self.clock.advance(minutes=minutes)
        expired = self.run(self.ledger.expire_due_holds())
        due = [
            h
            for h in self.model_holds.values()
            if h.status == "pending"
            and h.expires_at is not None
            and h.expires_at <= self.clock.now()
        ]
        assert expired >= len(due)  # holds left pending by earlier examples may expire too
        for h in due:
            self.model[h.debit].pending_out -= h.amount
            self.model[h.credit].pending_in -= h.amount
            h.status = "expired"

    @rule(target=entries, entry_id=consumes(entries))
    def reverse(self, entry_id: uuid.UUID):
        entry = self.model_entries.get(entry_id)
        cmd = Reverse(self._key(), entry_id)
        outcome = self._execute(cmd)
        self.issued[cmd.key] = Issued(cmd, outcome)
        if entry is None:
            assert isinstance(outcome, le.EntryNotFound)
            return uuid.uuid4()
        expected: DomainError | None = le.AlreadyReversed() if entry.reversed else None
        staged: dict[int, int] = {}
        for acc_id, amount in entry.legs:
            staged[acc_id] = staged.get(acc_id, self.model[acc_id].posted) - amount
            expected = expected or self._can_move(self.model[acc_id], -amount < 0)
        for acc_id, posted in staged.items():
            acc = self.model[acc_id]
            if expected is None and acc.no_negative and posted - acc.pending_out < 0:
                expected = le.InsufficientFunds()
        if expected is not None:
            assert type(outcome) is type(expected), (outcome, expected)
            return uuid.uuid4()
        assert not isinstance(outcome, DomainError), outcome
        for acc_id, posted in staged.items():
            self.model[acc_id].posted = posted
        entry.reversed = True
        self.model_entries[outcome.entry_id] = ModelEntry(
            outcome.entry_id, [(a, -m) for a, m in entry.legs]
        )
        return outcome.entry_id

    @rule(data=st.data())
    def replay_same_key(self, data):
        # Only keys whose command succeeded: a refusal records nothing, so a retry of a refused
        # command is a new attempt (covered by the integration tests), not a replay.
        succeeded = [k for k, i in self.issued.items() if not isinstance(i.outcome, DomainError)]
        if not succeeded:
            return
        k = data.draw(st.sampled_from(succeeded))
        issued = self.issued[k]
        outcome = self._execute(issued.command)
        first = issued.outcome
        assert not isinstance(outcome, DomainError), outcome
        assert outcome.replayed
        if hasattr(first, "entry_id"):
            assert outcome.entry_id == first.entry_id and outcome.postings == first.postings
        else:
            assert outcome.hold_id == first.hold_id

    @rule(data=st.data())
    def replay_key_with_another_request(self, data):
        succeeded = [k for k, i in self.issued.items() if not isinstance(i.outcome, DomainError)]
        if not succeeded or len(self.model) < 2:
            return
        k = data.draw(st.sampled_from(succeeded))
        ids = sorted(self.model)
        other = transfer(
            k, debit_account_id=ids[0], credit_account_id=ids[1], amount=987_654, currency="CNY"
        )
        before = self.run(self._balances())
        outcome = self._execute(other)
        assert isinstance(outcome, IdempotencyKeyReused)
        assert self.run(self._balances()) == before

    @rule(account=accounts, status=st.sampled_from(["active", "debit_frozen", "frozen"]))
    def freeze(self, account: int, status: str):
        self.run(accounts.set_status(self.conn, account, status))
        self.model[account].status = status

    # -- invariants ---------------------------------------------------------------------------------
    async def _balances(self) -> dict[int, tuple[int, int, int]]:
        rows = await self.conn.fetch(
            "SELECT id, posted, pending_out, pending_in FROM ledger_accounts WHERE id = ANY($1::bigint[])",
            list(self.model),
        )
        return {r["id"]: (r["posted"], r["pending_out"], r["pending_in"]) for r in rows}

    @invariant()
    def database_matches_model_and_rules(self) -> None:
        stored = self.run(self._balances())
        for acc_id, acc in self.model.items():
            assert stored[acc_id] == (acc.posted, acc.pending_out, acc.pending_in), acc
        self.run(check_invariants(self.conn))
        keys = [k for k, i in self.issued.items() if not isinstance(i.outcome, DomainError)]
        if keys:
            n = self.run(
                self.conn.fetchval(
                    "SELECT count(*) FROM ledger_commands WHERE key = ANY($1::text[])", keys
                )
            )
            assert n == len(keys)


@pytest.mark.timeout(900)
def test_ledger_state_machine(fresh_db_url: str) -> None:
    DB_URL["url"] = fresh_db_url
    run = LedgerMachine.TestCase
    run.settings = settings(
        max_examples=40,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    run().runTest()
