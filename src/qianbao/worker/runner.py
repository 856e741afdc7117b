"""The worker: relays committed outbox messages into jobs and runs jobs.

Exactly once, inside the database:
- the relay locks unrelayed messages (``FOR UPDATE SKIP LOCKED``), inserts one job per subscriber
  with the dedup key ``outbox:<message id>:<task>``, and marks the messages relayed, all in one
  transaction;
- a job runs in one transaction that locks it (``SKIP LOCKED``), applies the handler's writes and
  marks it done. A failing handler is rolled back to a savepoint and the job is retried later
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
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.db import Database, asyncpg_dsn
from qianbao.kernel.logging import get_logger
from qianbao.kernel.outbox import NOTIFY_CHANNEL, OutboxMessage
from qianbao.worker.models import JOB_NOTIFY_CHANNEL, Job
from qianbao.worker.registry import JobContext, TaskRegistry, registry

log = get_logger(__name__)


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
    ) -> None:
        self.db = db
        self.tasks = tasks
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.services = services or {}
        self._wake = asyncio.Event()
        self._next_periodic: dict[str, float] = {}

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
    async def run_one(self) -> bool:
        """Run the next ready job, if any. Returns False when no job was ready."""
        async with self.db.transaction() as session:
            job = (
                await session.execute(
                    select(Job)
                    .where(Job.status == "queued", Job.run_at <= func.now())
                    .order_by(Job.run_at, Job.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if job is None:
                return False
            handler = self.tasks.tasks.get(job.task)
            attempt = job.attempts + 1
            error: str | None = None
            if handler is None:
                error = f"no handler registered for task {job.task!r}"
            else:
                ctx = JobContext(
                    session=session, job_id=job.id, attempt=attempt, services=self.services
                )
                try:
                    async with session.begin_nested():
                        await handler(ctx, dict(job.payload))
                except Exception as exc:
                    error = "".join(traceback.format_exception_only(exc)).strip()
                    log.warning(
                        "job_failed", job_id=job.id, task=job.task, attempt=attempt, error=error
                    )
            values: dict[str, Any] = {"attempts": attempt}
            if error is None:
                values.update(status="done", finished_at=func.now(), last_error=None)
            elif attempt >= self.max_attempts:
                values.update(status="dead", finished_at=func.now(), last_error=error[:4000])
                log.error("job_dead", job_id=job.id, task=job.task, attempts=attempt)
            else:
                backoff = timedelta(seconds=min(2**attempt, 600))
                values.update(run_at=func.now() + backoff, last_error=error[:4000])
            await session.execute(update(Job).where(Job.id == job.id).values(**values))
            return True

    async def run_until_idle(self, *, max_rounds: int = 10_000) -> int:
        """Relay and run until nothing is ready. Returns how many jobs ran (tests, CLI)."""
        ran = 0
        for _ in range(max_rounds):
            relayed = await self.relay_once()
            progressed = False
            while await self.run_one():
                ran += 1
                progressed = True
            if not relayed and not progressed:
                break
        return ran

    # -- periodic work ---------------------------------------------------------------------------
    async def run_periodic(self, *, force: bool = False) -> list[str]:
        """Run the periodic tasks that are due (all of them with ``force``); returns their names."""
        ran = []
        now = time.monotonic()
        for task in self.tasks.periodic_tasks.values():
            if not force and self._next_periodic.get(task.name, 0.0) > now:
                continue
            self._next_periodic[task.name] = now + task.every_s
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
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self.run_until_idle(max_rounds=100)
                    await self.run_periodic()
                except (OSError, asyncpg.PostgresError, ConnectionError) as exc:
                    log.warning("worker_round_failed", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    waiter = asyncio.ensure_future(self._wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    _, pending = await asyncio.wait(
                        {waiter, stopper},
                        timeout=min(self.poll_interval, self._seconds_to_next_periodic()),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    for fut in pending:
                        fut.cancel()
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()
            log.info("worker_stopped")
