"""Service-level targets in business hours (pure functions, no database).

A target such as "first response within 4 hours" counts only business hours: 09:00-18:00 China
time on business days (weekends and public holidays do not count, weekend days worked instead of
a holiday do: ``qianbao.wallet.business_days.is_business_day``). The clock stops while a ticket
waits for the customer: the business hours spent waiting push the due times back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.wallet.business_days import is_business_day


@dataclass(frozen=True)
class BusinessCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    open_hour: int = 9
    close_hour: int = 18
    tz: ZoneInfo = LOCAL_TZ

    @classmethod
    def of(
        cls,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        open_hour: int = 9,
        close_hour: int = 18,
    ) -> BusinessCalendar:
        if not 0 <= open_hour < close_hour <= 24:
            raise ValueError("business hours must open before they close, within a day")
        return cls(frozenset(holidays), frozenset(workdays), open_hour, close_hour)

    @classmethod
    def from_settings(cls, settings: Any) -> BusinessCalendar:
        return cls.of(
            settings.payments.holidays,
            settings.payments.workdays,
            settings.tickets.business_open_hour,
            settings.tickets.business_close_hour,
        )

    def is_business_day(self, day: date) -> bool:
        return is_business_day(day, self.holidays, self.workdays)

    def _bounds(self, day: date) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, time(self.open_hour), tzinfo=self.tz)
        closes = (
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
            if self.close_hour == 24
            else datetime.combine(day, time(self.close_hour), tzinfo=self.tz)
        )
        return opens, closes

    def _next_open(self, day: date) -> datetime:
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return self._bounds(day)[0]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("business-hour arithmetic needs aware datetimes")
    return value


def add_business_hours(start: datetime, hours: float, calendar: BusinessCalendar) -> datetime:
    """The instant ``hours`` business hours after ``start`` (UTC). Outside business hours the
    count starts at the next opening; a result at closing time stays on that day."""
    if hours < 0:
        raise ValueError("hours must not be negative")
    current = _aware(start).astimezone(calendar.tz)
    remaining = timedelta(hours=hours)
    day = current.date()
    while True:
        if calendar.is_business_day(day):
            opens, closes = calendar._bounds(day)
            if current < opens:
                current = opens
            if current < closes:
                available = closes - current
                if remaining <= available:
                    return (current + remaining).astimezone(UTC)
                remaining -= available
        current = calendar._next_open(day)
        day = current.date()


def business_hours_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Business hours from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
    start_l, end_l = _aware(start).astimezone(calendar.tz), _aware(end).astimezone(calendar.tz)
    if end_l <= start_l:
        return 0.0
    total = timedelta()
    day = start_l.date()
    while day <= end_l.date():
        if calendar.is_business_day(day):
            opens, closes = calendar._bounds(day)
            lo, hi = max(opens, start_l), min(closes, end_l)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600
