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
import time
import traceback
from datetime import timedelta
from typing import Any

import asyncpg
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.db import Database, asyncpg_dsn
from qianbao.kernel.logging import get_logger
from qianbao.kernel.outbox import NOTIFY_CHANNEL, OutboxMessage
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
    .where(Job.id.in_(bindparam("ids", expanding=True)))
    .values(status="done", attempts=Job.attempts + 1, finished_at=func.now(), last_error=None)
)


class Worker:
    def __init__(
        self,
        db: Database,
        tasks: TaskRegistry = registry,
        *,
        poll_interval: float = 2.0,
        batch_size: int = 50,
        max_attempts: int = 8,
        services: dict[str, Any] | None = None,
        jobs_per_transaction: int = 20,
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
        """Turn up to ``batch_size`` committed messages into jobs. Returns how many it relayed."""
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.payload)
                    .where(OutboxMessage.relayed_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            jobs = [
                {
                    "task": task,
                    "payload": {"topic": topic, "message_id": msg_id, **payload},
                    "dedup_key": f"outbox:{msg_id}:{task}",
                }
                for msg_id, topic, payload in rows
                for task in self.tasks.subscribers(topic)
            ]
            if jobs:
                await session.execute(
                    insert(Job).values(jobs).on_conflict_do_nothing(index_elements=["dedup_key"])
                )
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r[0] for r in rows]))
                .values(relayed_at=func.now())
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
            for job_id, task, payload, attempts in claimed:
                if ran and time.monotonic() - started > self.batch_time_s:
                    break  # released at commit, still queued
                ran += 1
                attempt = attempts + 1
                error = await self._run_handler(session, job_id, task, payload, attempt)
                if error is None:
                    done.append(job_id)
                    continue
                values: dict[str, Any] = {"attempts": attempt}
                if attempt >= self.max_attempts:
                    values.update(status="dead", finished_at=func.now(), last_error=error[:4000])
                    log.error("job_dead", job_id=job_id, task=task, attempts=attempt)
                else:
                    backoff = timedelta(seconds=min(2**attempt, 600))
                    values.update(run_at=func.now() + backoff, last_error=error[:4000])
                await session.execute(update(Job).where(Job.id == job_id).values(**values))
            if done:
                await session.execute(_MARK_DONE, {"ids": done})
            return ran

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
            conn = await asyncpg.connect(asyncpg_dsn(self.db.url))
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
