"""The desk's one calendar (China time): when the live chat, the hotline and call-backs are open,
and — with the agents' shifts of the rota (``support.rota``) — when the chat desk is staffed and
what reply time a customer can honestly be promised. Pure functions, no database.

- Weekly opening hours per weekday (``support.hours.opens`` / ``closes`` / ``days``, ``weekly``
  for weekdays with other hours), public holidays closed or not (``payments.holidays``; the
  weekend days worked instead, ``payments.workdays``, open with Monday's hours), single-day
  exceptions, and "7×24" (``always_open``).
- A shift (agent, weekday, start, end) ending at or before its start runs over midnight: Monday
  22:00–08:00 staffs Monday night and Tuesday morning.
- The desk is staffed when the calendar is open or a shift covers the moment.

Ticket SLAs count their own business hours (``tickets.sla.BusinessCalendar``, 09:00–18:00 on
business days by default): a target there is never earlier than the desk opens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from qianbao.kernel.clock import LOCAL_TZ

log = logging.getLogger(__name__)

DAY = 24 * 60
Span = tuple[int, int]  # minutes after local midnight: [opens, closes), closes <= 1440
ALL_DAY: Span = (0, DAY)
SEARCH_DAYS = 60  # no holiday lasts two months


def parse_time(text: str) -> int:
    """'08:30' -> 510; '24:00' -> 1440 (a closing time)."""
    hh, _, mm = text.strip().partition(":")
    minutes = int(hh) * 60 + int(mm or 0)
    if not 0 <= minutes <= DAY or not 0 <= int(mm or 0) < 60:
        raise ValueError(f"not a time of day: {text!r}")
    return minutes


def parse_span(text: str) -> Span | None:
    """'08:00-22:00' -> (480, 1320); 'closed' -> None."""
    text = text.strip().lower()
    if text in ("closed", "", "-"):
        return None
    start, _, end = text.replace("–", "-").partition("-")
    span = (parse_time(start), parse_time(end))
    if not span[0] < span[1]:
        raise ValueError(f"hours must open before they close: {text!r}")
    return span


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _local(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the desk calendar needs aware datetimes")
    return at.astimezone(LOCAL_TZ)


def _at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ) + timedelta(minutes=minutes)


@dataclass(frozen=True)
class DeskCalendar:
    week: tuple[Span | None, ...] = (ALL_DAY,) * 7  # Monday first
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    holidays_closed: bool = False
    exceptions: tuple[tuple[date, Span | None], ...] = ()

    @classmethod
    def of(
        cls,
        *,
        opens_at: int,
        closes_at: int,
        business_days_only: bool,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> DeskCalendar:
        """The old chat settings' shape (whole hours, every day or business days only)."""
        span = (opens_at * 60, closes_at * 60)
        days = range(1, 6) if business_days_only else range(1, 8)
        week = tuple(span if d in days else None for d in range(1, 8))
        return cls(week, frozenset(holidays), frozenset(workdays), business_days_only)

    @property
    def always_open(self) -> bool:
        return (
            all(s == ALL_DAY for s in self.week)
            and not self.holidays_closed
            and not any(s != ALL_DAY for _, s in self.exceptions)
        )

    def span(self, day: date) -> Span | None:
        """The day's opening hours (None: closed)."""
        for when, span in self.exceptions:
            if when == day:
                return span
        if self.holidays_closed and day in self.holidays:
            return None
        weekly = self.week[day.weekday()]
        if weekly is None and self.holidays_closed and day in self.workdays:
            return self.usual
        return weekly

    @property
    def usual(self) -> Span | None:
        """Monday's hours, else the first open weekday's (a worked weekend day's hours)."""
        return next((s for s in self.week if s is not None), None)

    # The old chat Hours' names (whole hours of the usual day), for texts that show them.
    @property
    def opens_at(self) -> int:
        return (self.usual or (0, 0))[0] // 60

    @property
    def closes_at(self) -> int:
        return -(-(self.usual or (0, 0))[1] // 60)

    def is_open(self, at: datetime) -> bool:
        local = _local(at)
        span = self.span(local.date())
        minute = local.hour * 60 + local.minute
        return span is not None and span[0] <= minute < span[1]

    def openings(
        self, at: datetime, days: int = SEARCH_DAYS
    ) -> Iterable[tuple[datetime, datetime]]:
        """The open periods from ``at`` on (the current one from ``at``), joined over
        midnight when one day closes at 24:00 and the next opens at 00:00."""
        local = _local(at)
        day = local.date()
        pending: tuple[datetime, datetime] | None = None
        for _ in range(days):
            span = self.span(day)
            if span is not None:
                start, end = _at(day, span[0]), _at(day, span[1])
                if end > local:
                    start = max(start, local)
                    if pending is not None and pending[1] == start:
                        pending = (pending[0], end)
                    else:
                        if pending is not None:
                            yield pending
                        pending = (start, end)
            day += timedelta(days=1)
        if pending is not None:
            yield pending

    def next_opening(self, at: datetime) -> datetime:
        """The next moment the calendar opens (``at`` itself when it is open)."""
        for start, _ in self.openings(at):
            return start.astimezone(at.tzinfo)
        return at + timedelta(days=SEARCH_DAYS)  # closed for good: never "now"

    def next_closing(self, at: datetime) -> datetime | None:
        """When the current open period ends (None when closed now)."""
        for start, end in self.openings(at):
            return end if start <= at else None
        return None


@dataclass(frozen=True)
class Shift:
    """One line of an agent's weekly rota."""

    agent_id: Any
    weekday: int  # ISO, 1 = Monday
    starts: int  # minutes after midnight
    ends: int  # ends <= starts: over midnight, into the next day

    @property
    def overnight(self) -> bool:
        return self.ends <= self.starts

    def covers(self, at: datetime) -> bool:
        local = _local(at)
        minute, weekday = local.hour * 60 + local.minute, local.isoweekday()
        if not self.overnight:
            return weekday == self.weekday and self.starts <= minute < self.ends
        yesterday = 7 if weekday == 1 else weekday - 1
        return (weekday == self.weekday and minute >= self.starts) or (
            yesterday == self.weekday and minute < self.ends
        )

    def next_start(self, at: datetime) -> datetime:
        """``at`` when the shift covers it, else the shift's next start."""
        if self.covers(at):
            return at
        local = _local(at)
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            if day.isoweekday() == self.weekday and _at(day, self.starts) > local:
                return _at(day, self.starts)
        raise AssertionError("a weekly shift starts within a week")


def on_shift(shifts: Iterable[Shift], at: datetime) -> set[Any]:
    """The agents whose shift covers ``at``."""
    return {s.agent_id for s in shifts if s.covers(at)}


def staffed(cal: DeskCalendar, shifts: Iterable[Shift], at: datetime) -> bool:
    return cal.is_open(at) or any(s.covers(at) for s in shifts)


def next_staffed(cal: DeskCalendar, shifts: Sequence[Shift], at: datetime) -> datetime:
    """The next moment an agent is meant to be there: the calendar opening or a shift starting."""
    return min([cal.next_opening(at), *(s.next_start(at) for s in shifts)])


def expected_reply(
    cal: DeskCalendar, at: datetime, queue_minutes: int, shifts: Sequence[Shift] = ()
) -> datetime:
    """When the customer can expect a person: soon when staffed, else after the next opening
    (or shift), plus the promised queue time."""
    return max(next_staffed(cal, shifts, at), at) + timedelta(minutes=queue_minutes)


# Settings -> calendar ---------------------------------------------------------------------------

_warned: set[str] = set()


def _deprecated(name: str, instead: str) -> None:
    if name not in _warned:
        _warned.add(name)
        log.warning("setting %s is deprecated: use %s (one desk calendar)", name, instead)


@dataclass
class _Picked:
    opens: str
    closes: str
    days: list[int]
    holidays_closed: bool
    weekly: dict[int, str] = field(default_factory=dict)


def _picked(support: Any, chat: Any) -> _Picked:
    """``support.hours``, or for each of its fields not set, the deprecated settings that were
    (``chat.*`` before ``support.hotline_*``)."""
    hours = support.hours
    given = hours.model_fields_set
    out = _Picked(hours.opens, hours.closes, list(hours.days), hours.holidays_closed)
    legacy = support.model_fields_set
    if "opens" not in given and "hotline_open" in legacy:
        _deprecated("support.hotline_open", "support.hours.opens")
        out.opens = support.hotline_open
    if "closes" not in given and "hotline_close" in legacy:
        _deprecated("support.hotline_close", "support.hours.closes")
        out.closes = support.hotline_close
    if "days" not in given and "hotline_days" in legacy:
        _deprecated("support.hotline_days", "support.hours.days")
        out.days = list(support.hotline_days)
    if chat is not None:
        set_chat = chat.model_fields_set
        if "opens" not in given and "opens_at" in set_chat:
            _deprecated("chat.opens_at", "support.hours.opens")
            out.opens = f"{chat.opens_at:02d}:00"
        if "closes" not in given and "closes_at" in set_chat:
            _deprecated("chat.closes_at", "support.hours.closes")
            out.closes = f"{chat.closes_at:02d}:00"
        if "business_days_only" in set_chat and chat.business_days_only:
            _deprecated("chat.business_days_only", "support.hours.days / holidays_closed")
            if "days" not in given:
                out.days = [1, 2, 3, 4, 5]
            if "holidays_closed" not in given:
                out.holidays_closed = True
    return out


def from_settings(settings: Any) -> DeskCalendar:
    """The calendar of the whole ``Settings`` (or of ``SupportSettings`` alone: no holidays)."""
    support = getattr(settings, "support", settings)
    payments = getattr(settings, "payments", None)
    hours = support.hours
    holidays = frozenset(payments.holidays) if payments is not None else frozenset()
    workdays = frozenset(payments.workdays) if payments is not None else frozenset()
    if hours.always_open:
        return DeskCalendar((ALL_DAY,) * 7, holidays, workdays, False, ())
    picked = _picked(support, getattr(settings, "chat", None))
    try:
        base: Span | None = (parse_time(picked.opens), parse_time(picked.closes))
    except ValueError:
        base = (8 * 60, 22 * 60)
    if base is not None and not base[0] < base[1]:
        base = (8 * 60, 22 * 60)
    days = {d for d in picked.days if 1 <= d <= 7}
    week = [base if d in days else None for d in range(1, 8)]
    for weekday, text in hours.weekly.items():
        if 1 <= int(weekday) <= 7:
            week[int(weekday) - 1] = _span_or(text, week[int(weekday) - 1])
    exceptions = tuple(
        sorted((day, _span_or(text, None)) for day, text in hours.exceptions.items())
    )
    return DeskCalendar(tuple(week), holidays, workdays, picked.holidays_closed, exceptions)


def _span_or(text: str, fallback: Span | None) -> Span | None:
    try:
        return parse_span(text)
    except ValueError:
        return fallback
