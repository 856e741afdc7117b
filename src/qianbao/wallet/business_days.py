"""Business days for expected arrival dates: weekends and public holidays do not count, weekend
days worked instead of a holiday (China's 调休) do; a request after the cut-off hour counts from
the next day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from qianbao.kernel.clock import LOCAL_TZ


def is_business_day(day: date, holidays: Iterable[date], workdays: Iterable[date]) -> bool:
    if day in set(workdays):
        return True
    return day.weekday() < 5 and day not in set(holidays)


def arrival_date(
    requested_at: datetime,
    business_days: int,
    *,
    holidays: Iterable[date],
    workdays: Iterable[date],
    cutoff_hour: int,
) -> date:
    """The business day on which the money should arrive: ``business_days`` business days after
    the day the request is processed (today if it is a business day before the cut-off)."""
    holidays, workdays = set(holidays), set(workdays)
    local = requested_at.astimezone(LOCAL_TZ)
    day = local.date()
    if local.hour >= cutoff_hour or not is_business_day(day, holidays, workdays):
        day += timedelta(days=1)
        while not is_business_day(day, holidays, workdays):
            day += timedelta(days=1)
    for _ in range(business_days):
        day += timedelta(days=1)
        while not is_business_day(day, holidays, workdays):
            day += timedelta(days=1)
    return day
