"""The one place that reads the time, so tests can move it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        value = self._now()
        if value.tzinfo is None:
            raise ValueError("Clock must return aware datetimes")
        return value


class FrozenClock(Clock):
    """A clock that stays where it is put; ``advance`` moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        super().__init__(lambda: self.at)

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**kwargs)


system_clock = Clock()

# The calendar the wallet's users live in: "today", "this month", times shown on pages and in
# exports. (One zone per deployment for now; per-user time zones would replace this.)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
