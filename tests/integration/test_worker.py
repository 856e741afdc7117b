"""The outbox relay and the job queue: committed work runs exactly once, rolled-back never."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from qianbao.kernel.db import Database
from qianbao.kernel.outbox import emit
from qianbao.worker import JobContext, TaskRegistry, Worker, enqueue


async def _effects_table(db: Database) -> None:
    async with db.transaction() as s:
        await s.execute(
            text("CREATE TABLE IF NOT EXISTS test_effects (tag text, n int, task text)")
        )


async def _effects(db: Database) -> list[tuple[str, int, str]]:
    async with db.session() as s:
        rows = await s.execute(text("SELECT tag, n, task FROM test_effects ORDER BY tag, n, task"))
        return [tuple(r) for r in rows.all()]


def _registry(fail_times: dict[str, int] | None = None) -> TaskRegistry:
    registry = TaskRegistry()
    failures = dict(fail_times or {})

    def make(task: str):
        async def handler(ctx: JobContext, payload: dict) -> None:
            await ctx.session.execute(
                text("INSERT INTO test_effects (tag, n, task) VALUES (:tag, :n, :task)"),
                {"tag": payload["tag"], "n": payload["n"], "task": task},
            )
            key = f"{payload['tag']}:{task}"
            if failures.get(key, 0) > 0:
                failures[key] -= 1
                raise RuntimeError("transient failure")

        return handler

    registry.register("test.record", make("test.record"), subscribes=["test.happened"])
    registry.register("test.audit", make("test.audit"), subscribes=["test.happened"])
    return registry


async def test_committed_message_runs_exactly_once_and_rolled_back_never(fresh_db: Database):
    await _effects_table(fresh_db)
    async with fresh_db.transaction() as s:
        await emit(s, "test.happened", {"tag": "committed", "n": 1})

    async def failing_change() -> None:
        async with fresh_db.transaction() as s:
            await emit(s, "test.happened", {"tag": "rolled-back", "n": 2})
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    async with fresh_db.transaction() as s:
        await emit(s, "test.unsubscribed", {"tag": "nobody-listens", "n": 3})

    registry = _registry()
    workers = [Worker(fresh_db, registry, batch_size=1) for _ in range(4)]
    # Several workers racing on the same rows, then more rounds: still once.
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    await asyncio.gather(*(w.run_until_idle() for w in workers))

    assert await _effects(fresh_db) == [
        ("committed", 1, "test.audit"),
        ("committed", 1, "test.record"),
    ]
    async with fresh_db.session() as s:
        jobs = (
            await s.execute(text("SELECT task, status, attempts FROM jobs ORDER BY task"))
        ).all()
        pending = (
            await s.execute(text("SELECT count(*) FROM outbox_messages WHERE relayed_at IS NULL"))
        ).scalar()
    assert [tuple(j) for j in jobs] == [("test.audit", "done", 1), ("test.record", "done", 1)]
    assert pending == 0


async def test_many_messages_under_concurrent_workers_each_run_once(fresh_db: Database):
    await _effects_table(fresh_db)
    for batch in range(5):
        async with fresh_db.transaction() as s:
            for i in range(20):
                await emit(s, "test.happened", {"tag": "bulk", "n": batch * 20 + i}, wake=False)
    registry = _registry()
    workers = [Worker(fresh_db, registry, batch_size=7) for _ in range(5)]
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    effects = await _effects(fresh_db)
    assert len(effects) == 200
    assert len(set(effects)) == 200


async def test_a_failing_handler_is_rolled_back_and_retried(fresh_db: Database):
    await _effects_table(fresh_db)
    async with fresh_db.transaction() as s:
        await emit(s, "test.happened", {"tag": "flaky", "n": 1})
    registry = _registry(fail_times={"flaky:test.record": 2})
    worker = Worker(fresh_db, registry, max_attempts=5)
    for _ in range(3):
        await worker.run_until_idle()
        async with fresh_db.transaction() as s:  # skip the back-off wait
            await s.execute(text("UPDATE jobs SET run_at = now() WHERE status = 'queued'"))
    await worker.run_until_idle()
    # The two failed attempts left nothing behind; the third one's write is the only one.
    effects = await _effects(fresh_db)
    assert effects.count(("flaky", 1, "test.record")) == 1
    assert effects.count(("flaky", 1, "test.audit")) == 1
    async with fresh_db.session() as s:
        rows = (
            await s.execute(text("SELECT task, status, attempts FROM jobs ORDER BY task"))
        ).all()
    assert [tuple(r) for r in rows] == [("test.audit", "done", 1), ("test.record", "done", 3)]


async def test_a_job_that_keeps_failing_becomes_dead(fresh_db: Database):
    registry = TaskRegistry()

    async def always_fails(ctx: JobContext, payload: dict) -> None:
        raise ValueError("permanent")

    registry.register("test.fails", always_fails)
    async with fresh_db.transaction() as s:
        await enqueue(s, "test.fails", {"x": 1}, dedup_key="only-once")
        await enqueue(s, "test.fails", {"x": 2}, dedup_key="only-once")
    worker = Worker(fresh_db, registry, max_attempts=2)
    for _ in range(3):
        await worker.run_until_idle()
        async with fresh_db.transaction() as s:
            await s.execute(text("UPDATE jobs SET run_at = now() WHERE status = 'queued'"))
    async with fresh_db.session() as s:
        rows = (await s.execute(text("SELECT status, attempts, last_error FROM jobs"))).all()
    assert len(rows) == 1
    assert rows[0].status == "dead"
    assert rows[0].attempts == 2
    assert "ValueError: permanent" in rows[0].last_error


async def test_the_running_worker_wakes_on_notify(fresh_db: Database):
    await _effects_table(fresh_db)
    registry = _registry()
    worker = Worker(fresh_db, registry, poll_interval=30)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(0.3)  # let it LISTEN
        async with fresh_db.transaction() as s:
            await emit(s, "test.happened", {"tag": "live", "n": 7})
        for _ in range(100):
            if len(await _effects(fresh_db)) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(await _effects(fresh_db)) == 2  # well before the 30 s poll
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def test_the_loop_survives_any_round_error_backs_off_and_recovers(fresh_db: Database):
    """A round that fails with anything (here the pool's timeout, which used to end the loop for
    good) is logged and retried after a back-off; health says "failing" meanwhile; queued work
    runs once the database answers again (issue 13, defect 10)."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    await _effects_table(fresh_db)

    class Flaky(Worker):
        left = 2

        async def relay_once(self) -> int:
            if self.left:
                self.left -= 1
                raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")
            return await super().relay_once()

    worker = Flaky(fresh_db, _registry(), poll_interval=0.1)
    assert worker.health() == {"status": "starting"}
    async with fresh_db.transaction() as s:
        await emit(s, "test.happened", {"tag": "queued-during-trouble", "n": 1})
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(20):
            if worker.health()["status"] == "failing":
                break
            await asyncio.sleep(0.05)
        failing = worker.health()
        assert failing["status"] == "failing" and "QueuePool" in failing["error"]
        for _ in range(200):
            # The effects commit inside the round; health turns "ok" when that round ends.
            if len(await _effects(fresh_db)) == 2 and worker.health()["status"] == "ok":
                break
            await asyncio.sleep(0.05)
        assert len(await _effects(fresh_db)) == 2  # the queued work ran once it could
        assert worker.health() == {"status": "ok"} and not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert worker.health() == {"status": "stopped"}


async def test_jobs_of_a_task_with_a_batch_handler_run_together_and_one_bad_job_falls_back_alone(
    fresh_db: Database,
):
    """Issue 17: ready jobs of one task go to its batch handler in one savepoint; when the batch
    fails, its effects are undone and each job runs on its own, so only the bad one is retried."""
    await _effects_table(fresh_db)
    registry = TaskRegistry()
    batches: list[list[int]] = []

    async def one(ctx: JobContext, payload: dict) -> None:
        if payload["n"] == 3 and ctx.attempt == 1:
            raise RuntimeError("job 3 fails the first time")
        await ctx.session.execute(
            text("INSERT INTO test_effects (tag, n, task) VALUES ('one', :n, 'x')"),
            {"n": payload["n"]},
        )

    async def many(ctx: JobContext, jobs: list[tuple[int, dict]]) -> None:
        batches.append([payload["n"] for _, payload in jobs])
        for _, payload in jobs:
            await ctx.session.execute(
                text("INSERT INTO test_effects (tag, n, task) VALUES ('many', :n, 'x')"),
                {"n": payload["n"]},
            )
        if len(batches) == 2 and any(payload["n"] == 3 for _, payload in jobs):
            raise RuntimeError("the second batch fails")

    registry.register("test.batched", one, subscribes=["test.many"], batch=many)
    for _ in range(2):
        async with fresh_db.transaction() as s:
            for n in range(1, 5):
                await emit(s, "test.many", {"n": n})
        worker = Worker(fresh_db, registry, jobs_per_transaction=50)
        await worker.run_until_idle()
    # Round one: the four jobs in one batch. Round two: the batch fails (undone), then one by
    # one: job 3 fails its first attempt and is retried later; the others are done.
    assert batches == [[1, 2, 3, 4], [1, 2, 3, 4]]
    effects = await _effects(fresh_db)
    assert [(tag, n) for tag, n, _ in effects] == [
        ("many", 1), ("many", 2), ("many", 3), ("many", 4), ("one", 1), ("one", 2), ("one", 4),
    ]  # fmt: skip
    async with fresh_db.session() as s:
        states = (
            await s.execute(text("SELECT payload->>'n', status, attempts FROM jobs ORDER BY id"))
        ).all()
    assert [tuple(r) for r in states[4:]] == [
        ("1", "done", 1), ("2", "done", 1), ("3", "queued", 1), ("4", "done", 1),
    ]  # fmt: skip
