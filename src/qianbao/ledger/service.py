"""The ledger's public operations on one asyncpg connection.

Use it inside a request's transaction (``await Ledger.of_session(session)``: every command runs
in a SAVEPOINT of that transaction) or on a bare pooled connection (each ``execute`` is then its
own transaction). Deadlocks, serialization failures and a racing duplicate idempotency key roll
the batch back to its savepoint and retry it a bounded number of times; callers never see them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from qianbao.kernel.clock import Clock, clock_of, system_clock
from qianbao.kernel.db import driver_connection
from qianbao.kernel.errors import DomainError
from qianbao.ledger import repository as repo
from qianbao.ledger.commands import (
    Command,
    CreateHold,
    EntryResult,
    HoldResult,
    PostEntry,
    PostHold,
    Result,
    Reverse,
    VoidHold,
)
from qianbao.ledger.engine import Batch
from qianbao.ledger.errors import EntryNotFound, HoldNotFound, LedgerBusy
from qianbao.ledger.state import Replay

RETRYABLE = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.UniqueViolationError,
    asyncpg.LockNotAvailableError,
)
Outcome = Result | DomainError


class Ledger:
    def __init__(
        self, conn: asyncpg.Connection, *, clock: Clock = system_clock, max_attempts: int = 8
    ) -> None:
        self.conn = conn
        self.clock = clock
        self.max_attempts = max_attempts

    @classmethod
    async def of_session(cls, session: Any, *, clock: Clock | None = None) -> Ledger:
        """The ledger on the connection of a SQLAlchemy ``AsyncSession`` (same transaction).
        Without ``clock``, the session's own clock is used (``kernel.clock.clock_of``): the
        application's, or a seeder's booking history in the past."""
        driver = await driver_connection(session)
        return cls(driver, clock=clock or clock_of(session))

    # -- commands ---------------------------------------------------------------------------------
    async def execute(self, commands: Sequence[Command]) -> list[Outcome]:
        """Apply commands in order; each one succeeds or is refused on its own."""
        outcomes: list[Outcome | None] = [None] * len(commands)
        valid: list[tuple[int, Command]] = []
        for i, cmd in enumerate(commands):
            try:
                cmd.validate()
            except DomainError as error:
                outcomes[i] = error
            else:
                valid.append((i, cmd))
        if valid:
            applied = await self._with_retries([cmd for _, cmd in valid])
            for (i, _), outcome in zip(valid, applied, strict=True):
                outcomes[i] = await self._resolve(outcome)
        return [o for o in outcomes if o is not None]

    async def _with_retries(self, commands: list[Command]) -> list[Any]:
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self.conn.transaction():
                    return await self._apply(commands)
            except RETRYABLE:
                if attempt == self.max_attempts:
                    raise LedgerBusy() from None
                await asyncio.sleep(random.uniform(0, 0.002 * 2**attempt))  # noqa: S311 - jitter
        raise AssertionError("unreachable")  # pragma: no cover

    async def _apply(self, commands: list[Command]) -> list[Any]:
        conn = self.conn
        hold_ids: list[UUID] = []
        entry_ids: list[UUID] = []
        account_ids: set[int] = set()
        for cmd in commands:
            kind = cmd.kind
            if kind == "entry":
                account_ids.update([leg.account_id for leg in cmd.legs])  # type: ignore[union-attr]
            elif kind == "hold":
                account_ids.add(cmd.debit_account_id)  # type: ignore[union-attr]
                account_ids.add(cmd.credit_account_id)  # type: ignore[union-attr]
            elif kind == "reverse":
                entry_ids.append(cmd.entry_id)  # type: ignore[union-attr]
            else:
                hold_ids.append(cmd.hold_id)  # type: ignore[union-attr]
        holds = await repo.lock_holds(conn, hold_ids)
        reversible = await repo.reversible_entries(conn, entry_ids)
        for hold in holds.values():
            account_ids.update((hold.debit_account_id, hold.credit_account_id))
        for entry in reversible.values():
            account_ids.update(acc for acc, _, _ in entry.postings)
        # The keys are looked up in the statement that locks the accounts (one round trip), with
        # its snapshot, taken before any lock wait. A key that another transaction commits in
        # between makes the write fail on the key's uniqueness, and the retry reads it as a
        # replay.
        accounts, existing = await repo.lock_accounts_and_keys(
            conn, account_ids, [c.key for c in commands]
        )
        batch = Batch(
            now=self.clock.now(),
            accounts=accounts,
            holds=holds,
            reversible=reversible,
            existing=existing,
        )
        outcomes = batch.run(commands)
        await repo.write_batch(conn, batch, batch.now)  # the clock's time, not the server's
        return outcomes

    async def _resolve(self, outcome: Any) -> Outcome:
        if not isinstance(outcome, Replay):
            return outcome
        if outcome.entry_id is not None and outcome.kind != "hold":
            return await repo.entry_result(self.conn, outcome.entry_id, replayed=True)
        assert outcome.hold_id is not None
        return await repo.hold_result(self.conn, outcome.hold_id, replayed=True)

    async def _one(self, cmd: Command) -> Result:
        outcome = (await self.execute([cmd]))[0]
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def post(self, cmd: PostEntry | Reverse | PostHold) -> EntryResult:
        result = await self._one(cmd)
        assert isinstance(result, EntryResult)
        return result

    async def hold(self, cmd: CreateHold | VoidHold) -> HoldResult:
        result = await self._one(cmd)
        assert isinstance(result, HoldResult)
        return result

    async def expire_due_holds(self, *, limit: int = 500) -> int:
        """Release pending holds whose expiry has passed (run by the worker's sweeper)."""
        now = self.clock.now()
        async with self.conn.transaction():
            due = await repo.due_hold_ids(self.conn, now, limit)
            if not due:
                return 0
            holds = await repo.lock_holds(self.conn, due)
            accounts = await repo.lock_accounts(
                self.conn,
                [a for h in holds.values() for a in (h.debit_account_id, h.credit_account_id)],
            )
            batch = Batch(now=now, accounts=accounts, holds=holds, reversible={}, existing={})
            expired = batch.expire(due)
            await repo.write_batch(self.conn, batch)
            return expired

    # -- reading ----------------------------------------------------------------------------------
    async def entry(self, entry_id: UUID) -> dict[str, Any]:
        entry = await repo.fetch_entry(self.conn, entry_id)
        if entry is None:
            raise EntryNotFound()
        return entry

    async def entry_by_key(self, key: str) -> dict[str, Any]:
        command = await repo.command_by_key(self.conn, key)
        if command is None or command["entry_id"] is None:
            raise EntryNotFound()
        return await self.entry(command["entry_id"])

    async def has_command(self, key: str) -> bool:
        """Whether a command with this idempotency key was already applied (a replay)."""
        return await repo.command_by_key(self.conn, key) is not None

    async def hold_info(self, hold_id: UUID) -> dict[str, Any]:
        hold = await repo.fetch_hold(self.conn, hold_id)
        if hold is None:
            raise HoldNotFound()
        return hold
