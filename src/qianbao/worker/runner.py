"""The worker: relays committed outbox messages into jobs and runs jobs.

Exactly once, inside the database:
- the relay locks unrelayed messages (``FOR UPDATE SKIP LOCKED``), inserts one job per subscriber
  with the dedup key ``outbox:<message id>:<task>``, and marks the messages relayed, all in one
  transaction;
- a job runs in a transaction that locks it (``SKIP LOCKED``), applies the handler's writes and
  marks it done. Up to ``jobs_per_transaction`` ready jobs share one transaction, each in its
  own savepoint. A failing handler is rolled back to its savepoint and the job is retried later
  with exponential back-off, until ``max_attempts`` makes it ``dead`` (kept for an operator).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, String, bindparam, column, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from qianbao.kernel.db import Database, asyncpg_dsn
from qianbao.kernel.logging import get_logger
from qianbao.kernel.outbox import NOTIFY_CHANNEL
from qianbao.worker.models import JOB_NOTIFY_CHANNEL, Job
from qianbao.worker.registry import (
    JobContext,
    PeriodicTask,
    StandaloneContext,
    TaskRegistry,
    registry,
)

log = get_logger(__name__)
MAX_BACKOFF_S = 30.0

_CLAIM = (
    select(Job.id, Job.task, Job.payload, Job.attempts)
    .where(Job.status == "queued", Job.run_at <= func.now())
    .order_by(Job.run_at, Job.id)
    .with_for_update(skip_locked=True)
)
_MARK_DONE = (
    update(Job)
    .where(Job.id == func.any(bindparam("ids", type_=ARRAY(BigInteger()))))
    .values(status="done", attempts=Job.attempts + 1, finished_at=func.now(), last_error=None)
)
_TAKE_MESSAGES = text(
    """
    WITH taken AS (
        SELECT id FROM outbox_messages WHERE relayed_at IS NULL
         ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    UPDATE outbox_messages AS o SET relayed_at = now() FROM taken WHERE o.id = taken.id
    RETURNING o.id, o.topic, o.payload
    """
).columns(column("id", BigInteger()), column("topic", String()), column("payload", JSONB()))
_INSERT_JOBS = text(
    """
    INSERT INTO jobs (task, payload, dedup_key)
    SELECT t, p::jsonb, k FROM unnest(CAST(:tasks AS text[]), CAST(:payloads AS text[]),
                                      CAST(:keys AS text[])) WITH ORDINALITY AS u(t, p, k, n)
    ORDER BY n
    ON CONFLICT (dedup_key) DO NOTHING
    """
)


def _groups(claimed: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    """The claimed jobs by task, in the order each task first appears."""
    groups: dict[str, list[Any]] = {}
    for row in claimed:
        groups.setdefault(row[1], []).append(row)
    return list(groups.items())


class Worker:
    def __init__(
        self,
        db: Database,
        tasks: TaskRegistry = registry,
        *,
        poll_interval: float = 2.0,
        batch_size: int = 200,
        max_attempts: int = 8,
        services: dict[str, Any] | None = None,
        jobs_per_transaction: int = 100,
        batch_time_s: float = 0.05,
        concurrency: int = 1,
    ) -> None:
        self.db = db
        self.tasks = tasks
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.services = services or {}
        self.jobs_per_transaction = jobs_per_transaction
        self.batch_time_s = batch_time_s
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._next_periodic: dict[str, float] = {}
        self._standalone: dict[str, asyncio.Task[bool]] = {}  # runs in the background
        # What /readyz reports: consecutive failed rounds and the last error (none: healthy).
        self.failures = 0
        self.last_error: str | None = None
        self.state = "starting"  # then "running", and "stopped" once its loop has ended

    def health(self) -> dict[str, Any]:
        if self.state != "running":
            return {"status": self.state}
        if self.failures:
            return {"status": "failing", "failed_rounds": self.failures, "error": self.last_error}
        return {"status": "ok"}

    # -- the relay ------------------------------------------------------------------------------
    async def relay_once(self) -> int:
        """Turn up to ``batch_size`` committed messages into jobs. Returns how many it relayed.

        Two statements of fixed shape whatever the number of messages (a prepared statement is
        reused, not parsed again for each count): take and mark the messages, then insert the
        jobs from arrays."""
        async with self.db.transaction() as session:
            rows = sorted(
                (await session.execute(_TAKE_MESSAGES, {"limit": self.batch_size})).all(),
                key=lambda r: r[0],  # jobs in the order of their messages
            )
            if not rows:
                return 0
            jobs = [
                (task, {"topic": topic, "message_id": msg_id, **payload}, f"outbox:{msg_id}:{task}")
                for msg_id, topic, payload in rows
                for task in self.tasks.subscribers(topic)
            ]
            if jobs:
                await session.execute(
                    _INSERT_JOBS,
                    {
                        "tasks": [j[0] for j in jobs],
                        "payloads": [json.dumps(j[1]) for j in jobs],
                        "keys": [j[2] for j in jobs],
                    },
                )
            return len(rows)

    # -- running jobs ---------------------------------------------------------------------------
    async def run_batch(self, limit: int | None = None) -> int:
        """Run up to ``limit`` ready jobs (``jobs_per_transaction``) in one transaction, each in
        its own savepoint. Returns how many ran; 0 when none was ready.

        A job's effects and its ``done`` mark still commit together, and a failing handler is
        still rolled back alone (its savepoint) and retried with back-off; the batch only saves
        the transaction, the claim and the bookkeeping per job. Claimed jobs not started within
        ``batch_time_s`` stay queued for the next round, so locks a handler takes are not held
        for long behind the others."""
        async with self.db.transaction() as session:
            claimed = (
                await session.execute(_CLAIM.limit(limit or self.jobs_per_transaction))
            ).all()
            if not claimed:
                return 0
            done: list[int] = []
            started = time.monotonic()
            ran = 0
            for task, group in _groups(claimed):
                if ran and time.monotonic() - started > self.batch_time_s:
                    break  # released at commit, still queued
                ran += len(group)
                # A failed batch is undone and its jobs run one by one: one bad job is then
                # retried alone and the others are done.
                if (
                    len(group) > 1
                    and task in self.tasks.batch_handlers
                    and await self._run_batch_handler(session, task, group) is None
                ):
                    done.extend(job_id for job_id, *_ in group)
                    continue
                for job_id, _, payload, attempts in group:
                    attempt = attempts + 1
                    error = await self._run_handler(session, job_id, task, payload, attempt)
                    if error is None:
                        done.append(job_id)
                        continue
                    await self._failed(session, job_id, task, attempt, error)
            if done:
                await session.execute(_MARK_DONE, {"ids": done})
            return ran

    async def _failed(self, session: Any, job_id: int, task: str, attempt: int, error: str) -> None:
        values: dict[str, Any] = {"attempts": attempt}
        if attempt >= self.max_attempts:
            values.update(status="dead", finished_at=func.now(), last_error=error[:4000])
            log.error("job_dead", job_id=job_id, task=task, attempts=attempt)
        else:
            backoff = timedelta(seconds=min(2**attempt, 600))
            values.update(run_at=func.now() + backoff, last_error=error[:4000])
        await session.execute(update(Job).where(Job.id == job_id).values(**values))

    async def _run_batch_handler(self, session: Any, task: str, group: list[Any]) -> str | None:
        """Run ready jobs of one task together in one savepoint; the error text if it failed."""
        handler = self.tasks.batch_handlers[task]
        first_id, _, _, attempts = group[0]
        ctx = JobContext(
            session=session, job_id=first_id, attempt=attempts + 1, services=self.services
        )
        try:
            async with session.begin_nested():
                await handler(ctx, [(job_id, dict(payload)) for job_id, _, payload, _ in group])
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
            log.warning("job_batch_failed", task=task, jobs=len(group), error=error)
            return error
        return None

    async def _run_handler(
        self, session: Any, job_id: int, task: str, payload: dict[str, Any], attempt: int
    ) -> str | None:
        """Run one handler in a savepoint; returns the error text if it failed."""
        handler = self.tasks.tasks.get(task)
        if handler is None:
            return f"no handler registered for task {task!r}"
        ctx = JobContext(session=session, job_id=job_id, attempt=attempt, services=self.services)
        try:
            async with session.begin_nested():
                await handler(ctx, dict(payload))
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
            log.warning("job_failed", job_id=job_id, task=task, attempt=attempt, error=error)
            return error
        return None

    async def run_one(self) -> bool:
        """Run the next ready job, if any. Returns False when no job was ready."""
        return await self.run_batch(1) > 0

    async def run_until_idle(self, *, max_rounds: int = 10_000) -> int:
        """Relay and run until nothing is ready. Returns how many jobs ran (tests, CLI)."""
        ran = 0
        for _ in range(max_rounds):
            relayed = await self.relay_once()
            done = await self._run_ready_jobs()
            ran += done
            if not relayed and not done:
                break
        return ran

    async def _run_ready_jobs(self) -> int:
        """Run jobs until none is ready, on ``concurrency`` connections at once (``SKIP LOCKED``
        keeps them apart): while one waits for the database, another uses the CPU."""

        async def lane() -> int:
            ran = 0
            while batch := await self.run_batch():
                ran += batch
            return ran

        if self.concurrency <= 1:
            return await lane()
        return sum(await asyncio.gather(*(lane() for _ in range(self.concurrency))))

    # -- periodic work ---------------------------------------------------------------------------
    async def run_periodic(self, *, force: bool = False, background: bool = False) -> list[str]:
        """Run the periodic tasks that are due (all of them with ``force``); returns their names.
        With ``background`` (the loop), standalone tasks are started, not awaited."""
        ran = []
        now = time.monotonic()
        for task in self.tasks.periodic_tasks.values():
            if not force and self._next_periodic.get(task.name, 0.0) > now:
                continue
            self._next_periodic[task.name] = now + task.every_s
            if task.standalone:
                if background:
                    if self._start_standalone(task):
                        ran.append(task.name)
                elif await self._run_standalone(task):
                    ran.append(task.name)
                continue
            try:
                async with self.db.transaction() as session:
                    got = (
                        await session.execute(
                            text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"),
                            {"k": f"qianbao.periodic:{task.name}"},
                        )
                    ).scalar()
                    if not got:
                        continue  # another worker is on it
                    ctx = JobContext(session=session, job_id=0, attempt=1, services=self.services)
                    await task.fn(ctx)
                ran.append(task.name)
            except Exception as exc:
                log.warning("periodic_failed", task=task.name, error=str(exc))
        return ran

    async def _run_standalone(self, task: PeriodicTask) -> bool:
        ctx = StandaloneContext(db=self.db, services=self.services, clock=self.db.clock)
        try:
            await task.fn(ctx)
        except Exception as exc:
            log.warning("periodic_failed", task=task.name, error=str(exc))
            return False
        return True

    def _start_standalone(self, task: PeriodicTask) -> bool:
        """Start a run unless the previous one is still going (then this turn is skipped)."""
        running = self._standalone.get(task.name)
        if running is not None and not running.done():
            return False
        self._standalone[task.name] = asyncio.create_task(
            self._run_standalone(task), name=f"qianbao-periodic:{task.name}"
        )
        return True

    async def _stop_standalone(self, grace_s: float = 10.0) -> None:
        """Let running standalone tasks finish for ``grace_s``, then cancel them (their work
        is safe to cut: it commits in short transactions and is picked up again)."""
        running = [t for t in self._standalone.values() if not t.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=grace_s)
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def _seconds_to_next_periodic(self) -> float:
        if not self._next_periodic:
            return self.poll_interval
        return max(0.05, min(self._next_periodic.values()) - time.monotonic())

    # -- the loop -------------------------------------------------------------------------------
    async def _listen(self) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(asyncpg_dsn(self.db.direct_url))
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("worker_listen_unavailable", error=str(exc))
            return None

        def _notified(*_: object) -> None:
            self._wake.set()

        await conn.add_listener(NOTIFY_CHANNEL, _notified)
        await conn.add_listener(JOB_NOTIFY_CHANNEL, _notified)
        return conn

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; wake on NOTIFY, poll every ``poll_interval`` anyway."""
        listener = await self._listen()
        log.info("worker_started", tasks=sorted(self.tasks.tasks))
        self.state = "running"
        try:
            while not stop.is_set():
                self._wake.clear()
                timeout = min(self.poll_interval, self._seconds_to_next_periodic())
                try:
                    await self.run_until_idle(max_rounds=100)
                    await self.run_periodic(background=True)
                except Exception as exc:
                    # Any error of one round (the database away or too busy, a bug): the loop
                    # survives, backs off and says so (log, /readyz); nothing is lost, the
                    # jobs stay queued. Issue 13, defect 10.
                    self.failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                    timeout = min(MAX_BACKOFF_S, 0.5 * 2 ** min(self.failures, 10))
                    log.warning(
                        "worker_round_failed",
                        error=self.last_error,
                        failed_rounds=self.failures,
                        retry_in_s=timeout,
                    )
                else:
                    if self.failures:
                        log.info("worker_recovered", failed_rounds=self.failures)
                    self.failures, self.last_error = 0, None
                if listener is None or listener.is_closed():
                    listener = await self._listen()  # NOTIFY wake-ups again, once it can
                with contextlib.suppress(TimeoutError):
                    waiter = asyncio.ensure_future(self._wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    _, pending = await asyncio.wait(
                        {waiter, stopper},
                        timeout=timeout,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    for fut in pending:
                        fut.cancel()
        finally:
            await self._stop_standalone()
            self.state = "stopped"
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()
            log.info("worker_stopped")
