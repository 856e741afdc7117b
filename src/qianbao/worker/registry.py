"""Tasks and subscriptions. A domain declares its handlers at import time:

@registry.task("notifications.send_sms", subscribes=["identity.otp_requested"])
async def send_sms(ctx: JobContext, payload: dict) -> None: ...
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.kernel.clock import Clock, clock_of

if TYPE_CHECKING:
    from qianbao.kernel.db import Database


@dataclass
class JobContext:
    """What a handler gets besides its payload: the job's own transaction and identity."""

    session: AsyncSession
    job_id: int
    attempt: int
    services: dict[str, Any]

    @property
    def clock(self) -> Clock:
        """The service's clock (the one its database sessions carry)."""
        return clock_of(self.session)


@dataclass
class StandaloneContext:
    """What a standalone periodic task gets: no transaction, the database to open its own short
    ones (``db.transaction()``), the worker's services and the clock."""

    db: Database
    services: dict[str, Any]
    clock: Clock


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]
# Many ready jobs of one task at once: ``[(job id, payload), ...]``, in one savepoint. It must do
# for each job exactly what the one-job handler does (the worker falls back to that, job by job,
# when the batch fails), and be safe to run again for jobs it already did (a retry).
BatchHandler = Callable[[JobContext, list[tuple[int, dict[str, Any]]]], Awaitable[None]]
PeriodicHandler = Callable[[JobContext], Awaitable[None]]
StandaloneHandler = Callable[[StandaloneContext], Awaitable[None]]


@dataclass
class PeriodicTask:
    """Work that runs every ``every_s`` seconds.

    By default in one worker at a time (an advisory lock), inside one transaction. A
    ``standalone`` task gets no transaction and no lock: it runs in every worker, opens its own
    short transactions and must keep concurrent runs apart itself (``FOR UPDATE SKIP LOCKED``);
    it is for work that waits on the outside world (HTTP) and must not hold a connection
    meanwhile. The worker's loop runs it in the background, one run at a time."""

    name: str
    every_s: float
    fn: Callable[[Any], Awaitable[None]]
    standalone: bool = False


class TaskRegistry:
    def __init__(self) -> None:
        self.tasks: dict[str, Handler] = {}
        self.batch_handlers: dict[str, BatchHandler] = {}
        self.subscriptions: dict[str, list[str]] = defaultdict(list)
        self.periodic_tasks: dict[str, PeriodicTask] = {}

    @overload
    def periodic(self, name: str, every_s: float, fn: PeriodicHandler) -> None: ...

    @overload
    def periodic(
        self, name: str, every_s: float, fn: StandaloneHandler, *, standalone: Literal[True]
    ) -> None: ...

    def periodic(
        self,
        name: str,
        every_s: float,
        fn: PeriodicHandler | StandaloneHandler,
        *,
        standalone: bool = False,
    ) -> None:
        self.periodic_tasks[name] = PeriodicTask(name, every_s, fn, standalone)

    def task(
        self, name: str, *, subscribes: list[str] | None = None
    ) -> Callable[[Handler], Handler]:
        def decorator(fn: Handler) -> Handler:
            self.register(name, fn, subscribes=subscribes)
            return fn

        return decorator

    def register(
        self,
        name: str,
        fn: Handler,
        *,
        subscribes: list[str] | None = None,
        batch: BatchHandler | None = None,
    ) -> None:
        """``batch``: the same work for many jobs in a few statements (issue 17: the worker's
        cost per event), used when several jobs of the task are ready at once."""
        if name in self.tasks and self.tasks[name] is not fn:
            raise ValueError(f"task {name!r} is already registered")
        self.tasks[name] = fn
        if batch is not None:
            self.batch_handlers[name] = batch
        for topic in subscribes or []:
            if name not in self.subscriptions[topic]:
                self.subscriptions[topic].append(name)

    def subscribers(self, topic: str) -> list[str]:
        return list(self.subscriptions.get(topic, ()))


registry = TaskRegistry()
