"""Tasks and subscriptions. A domain declares its handlers at import time:

@registry.task("notifications.send_sms", subscribes=["identity.otp_requested"])
async def send_sms(ctx: JobContext, payload: dict) -> None: ...
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.kernel.clock import Clock, clock_of


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


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]
PeriodicHandler = Callable[[JobContext], Awaitable[None]]


@dataclass
class PeriodicTask:
    """Work that runs every ``every_s`` seconds in one worker at a time (an advisory lock)."""

    name: str
    every_s: float
    fn: PeriodicHandler


class TaskRegistry:
    def __init__(self) -> None:
        self.tasks: dict[str, Handler] = {}
        self.subscriptions: dict[str, list[str]] = defaultdict(list)
        self.periodic_tasks: dict[str, PeriodicTask] = {}

    def periodic(self, name: str, every_s: float, fn: PeriodicHandler) -> None:
        self.periodic_tasks[name] = PeriodicTask(name, every_s, fn)

    def task(
        self, name: str, *, subscribes: list[str] | None = None
    ) -> Callable[[Handler], Handler]:
        def decorator(fn: Handler) -> Handler:
            self.register(name, fn, subscribes=subscribes)
            return fn

        return decorator

    def register(self, name: str, fn: Handler, *, subscribes: list[str] | None = None) -> None:
        if name in self.tasks and self.tasks[name] is not fn:
            raise ValueError(f"task {name!r} is already registered")
        self.tasks[name] = fn
        for topic in subscribes or []:
            if name not in self.subscriptions[topic]:
                self.subscriptions[topic].append(name)

    def subscribers(self, topic: str) -> list[str]:
        return list(self.subscriptions.get(topic, ()))


registry = TaskRegistry()
