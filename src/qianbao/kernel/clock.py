"""The one place that reads the time, so tests and operators can say what time it is.

Business logic never asks the machine for "now": it asks the clock injected into it.

- The application owns one ``Clock`` (``create_app(clock=...)``, ``app.state.clock``). Its
  ``Database`` puts that clock on every session it opens (``session.info["clock"]``), so a
  use case that has a session reads ``clock_of(session).now()``; the worker's jobs get the same
  clock through their session; the identity and chat contexts carry it too.
- A seeder that books history in the past opens its session with a ``FrozenClock`` at that
  moment (``with_clock(session, clock)``): every service of that session then books there.
- Tests build the application with a ``TestClock`` and move it (``freeze``, ``travel``,
  ``advance``) — in a browser test through the same object the live server uses.
- ``make lint`` refuses ``datetime.now()``, ``date.today()`` and ``time.time()`` anywhere in
  ``src/qianbao`` but here (ruff's banned-API rule); infrastructure timing (timeouts, pacing,
  metrics) uses ``time.monotonic()``, which no business rule may read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# The calendar the wallet's users live in: "today", "this month", times shown on pages and in
# exports, business hours and business days. (One zone per deployment for now; per-user time
# zones would replace this.)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

SESSION_KEY = "clock"


def _system_now() -> datetime:
    return datetime.now(UTC)


class Clock:
    """The machine's clock (or any other source of aware datetimes)."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or _system_now

    def now(self) -> datetime:
        value = self._now()
        if value.tzinfo is None:
            raise ValueError("Clock must return aware datetimes")
        return value.astimezone(UTC)

    def local_now(self) -> datetime:
        """Now on the users' calendar (China time)."""
        return self.now().astimezone(LOCAL_TZ)

    def today(self) -> date:
        """Today's date on the users' calendar (China time, not UTC)."""
        return self.local_now().date()

    def timestamp(self) -> int:
        """Now as Unix seconds (signatures with a freshness window)."""
        return int(self.now().timestamp())


class FrozenClock(Clock):
    """A clock that stays where it is put; ``advance`` moves it."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.at = at
        super().__init__(lambda: self.at)

    def advance(self, **kwargs: float) -> None:
        self.at = self.at + timedelta(**kwargs)


class TestClock(Clock):
    """The clock of an application under test: the machine's time until a test moves it.

    ``freeze(at)`` stops it at ``at``; ``travel(at)`` puts it at ``at`` and lets it run;
    ``advance(minutes=5)`` moves it on; ``reset()`` goes back to the machine's time. The same
    object is shared by the app, its database sessions and its worker, so moving it moves the
    whole service (also a live server in another thread)."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        super().__init__(self._read)

    def _read(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return _system_now() + self._offset

    def freeze(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("TestClock needs an aware datetime")
        self._frozen = at

    def travel(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("TestClock needs an aware datetime")
        self._frozen = None
        self._offset = at - _system_now()

    def advance(self, **kwargs: float) -> None:
        step = timedelta(**kwargs)
        if self._frozen is not None:
            self._frozen += step
        else:
            self._offset += step

    def reset(self) -> None:
        self._frozen, self._offset = None, timedelta(0)


system_clock = Clock()


def clock_of(session: Any) -> Clock:
    """The clock a session's work runs on: the one its ``Database`` (or a seeder) put there."""
    info = getattr(session, "info", None)
    found = info.get(SESSION_KEY) if info is not None else None
    return found if found is not None else system_clock


def with_clock(session: Any, clock: Clock) -> Any:
    """Run this session's work on ``clock`` (seeding history at a past moment); returns it."""
    session.info[SESSION_KEY] = clock
    return session
