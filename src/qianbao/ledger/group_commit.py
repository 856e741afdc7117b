"""Group commit: many concurrent single-transfer calls become a few large transactions.

As TigerBeetle does, callers ``submit`` one command each and await its own outcome; the front
gathers whatever arrived while the previous batch was being written into the next batch (up to
``max_batch``), with ``inflight`` batches in flight at once. Each call keeps its own success or
refusal. A hot account (one merchant receiving most payments) is locked once per batch instead of
once per payment, so it stops being a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import asyncpg

from qianbao.kernel.clock import Clock, system_clock
from qianbao.kernel.errors import DomainError
from qianbao.kernel.logging import get_logger
from qianbao.ledger.commands import Command, EntryResult, HoldResult, Result
from qianbao.ledger.errors import LedgerBusy
from qianbao.ledger.service import Ledger

log = get_logger(__name__)


class GroupCommitter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_batch: int = 1000,
        inflight: int = 2,
        min_fill: int | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.pool = pool
        self.max_batch = max_batch
        self.inflight = inflight
        self.min_fill = min_fill if min_fill is not None else min(32, max_batch)
        self.clock = clock
        self._queue: deque[tuple[Command, asyncio.Future[Result]]] = deque()
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.commands = 0

    async def submit(self, cmd: Command) -> Result:
        """Apply one command through the next batch; raise its refusal as a DomainError."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((cmd, future))
        self._kick()
        return await future

    async def post(self, cmd: Command) -> EntryResult:
        result = await self.submit(cmd)
        assert isinstance(result, EntryResult)
        return result

    async def hold(self, cmd: Command) -> HoldResult:
        result = await self.submit(cmd)
        assert isinstance(result, HoldResult)
        return result

    def _kick(self) -> None:
        # Start a batch at once when nothing is in flight (lowest latency when quiet); while one
        # is in flight, start another only once a full batch is waiting. Commands that arrive
        # meanwhile ride together in the next batch: that is what makes it a group commit.
        while self._queue and (
            self._running == 0
            or (self._running < self.inflight and len(self._queue) >= self.min_fill)
        ):
            take = min(self.max_batch, len(self._queue))
            batch = [self._queue.popleft() for _ in range(take)]
            self._running += 1
            task = asyncio.create_task(self._flush(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self, batch: list[tuple[Command, asyncio.Future[Result]]]) -> None:
        try:
            outcomes = await self._apply([cmd for cmd, _ in batch])
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else LedgerBusy())
            if not isinstance(exc, Exception):
                raise
        finally:
            self._running -= 1
            self.batches += 1
            self.commands += len(batch)
            self._kick()

    async def _apply(self, commands: list[Command]) -> list[Result | BaseException]:
        async with self.pool.acquire() as conn:
            ledger = Ledger(conn, clock=self.clock)
            try:
                return list(await ledger.execute(commands))
            except DomainError:
                raise
            except Exception:
                if len(commands) == 1:
                    raise
                # Something other than a refusal broke the whole batch (a bug or bad data):
                # isolate it by applying the commands one by one.
                log.exception("group_commit_batch_failed", size=len(commands))
                results: list[Result | BaseException] = []
                for cmd in commands:
                    try:
                        results.append((await ledger.execute([cmd]))[0])
                    except Exception as exc:
                        results.append(exc)
                return results

    async def drain(self) -> None:
        """Wait until everything submitted so far is applied."""
        while self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.gather(*list(self._tasks))
