"""Business hours of the chat desk (China Standard Time) and the reply time promised to a
customer nobody can answer right now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.wallet.business_days import is_business_day


@dataclass(frozen=True)
class Hours:
    opens_at: int  # hour, local time
    closes_at: int  # hour, 24 = midnight
    business_days_only: bool
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        opens_at: int,
        closes_at: int,
        business_days_only: bool,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> Hours:
        return cls(
            opens_at, closes_at, business_days_only, frozenset(holidays), frozenset(workdays)
        )

    def _day_open(self, day: date) -> bool:
        if not self.business_days_only:
            return True
        return is_business_day(day, self.holidays, self.workdays)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(LOCAL_TZ)
        return self._day_open(local.date()) and self.opens_at <= local.hour < self.closes_at

    def next_opening(self, at: datetime) -> datetime:
        """The next moment the desk opens (``at`` itself when it is open)."""
        if self.is_open(at):
            return at
        local = at.astimezone(LOCAL_TZ)
        day = local.date()
        if local.hour >= self.opens_at:
            day += timedelta(days=1)
        for _ in range(60):  # holidays never last two months
            if self._day_open(day):
                break
            day += timedelta(days=1)
        return datetime.combine(day, time(self.opens_at), tzinfo=LOCAL_TZ)


def expected_reply(hours: Hours, at: datetime, queue_minutes: int) -> datetime:
    """When the customer can expect a person: soon within hours, else after the next opening."""
    opening = hours.next_opening(at)
    return max(opening, at) + timedelta(minutes=queue_minutes)
