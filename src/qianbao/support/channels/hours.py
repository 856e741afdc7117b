"""The desk's opening hours (the one calendar, ``support.desk_calendar``) described in the
user's language, and the time windows a call-back can be asked for on /contact."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_skeleton, get_day_names

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.desk_calendar import ALL_DAY, DeskCalendar, Span, clock_text, from_settings

ASAP = "asap"
WINDOW_HOURS = 3
EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)

Hours = DeskCalendar


def hours_of(settings: Any) -> DeskCalendar:
    """The calendar of the whole ``Settings`` (or of ``SupportSettings``: without holidays)."""
    return from_settings(settings)


def _span_text(span: Span) -> dict[str, str]:
    return {"opens": clock_text(span[0]), "closes": clock_text(span[1])}


def _group(days: tuple[int, ...], span: Span, locale: str) -> str:
    if span == ALL_DAY and days == EVERY_DAY:
        return gettext(locale, N_("Around the clock, every day (7×24)"))
    if days == EVERY_DAY:
        return gettext(locale, N_("Every day, {opens}–{closes} (China time)"), **_span_text(span))
    if days == (1, 2, 3, 4, 5):
        return gettext(
            locale, N_("Monday to Friday, {opens}–{closes} (China time)"), **_span_text(span)
        )
    names = get_day_names("wide", locale=locale)
    joined = ("、" if locale.startswith("zh") else ", ").join(names[d - 1] for d in days)
    return gettext(
        locale, N_("{days}, {opens}–{closes} (China time)"), days=joined, **_span_text(span)
    )


def describe(hours: DeskCalendar, locale: str) -> str:
    """'每天 08:00–22:00（北京时间）' / 'Monday to Friday, 09:00–18:00 (China time); Saturday,
    10:00–16:00 (China time)' — weekdays with the same hours together."""
    groups: dict[Span, list[int]] = {}
    for weekday, span in enumerate(hours.week, start=1):
        if span is not None:
            groups.setdefault(span, []).append(weekday)
    if not groups:
        return gettext(locale, N_("Closed every day"))
    parts = [_group(tuple(days), span, locale) for span, days in groups.items()]
    text = ("；" if locale.startswith("zh") else "; ").join(parts)
    if hours.holidays_closed:
        text += gettext(locale, N_(", closed on public holidays"))
    return text


def span_text(hours: DeskCalendar, day: date) -> str | None:
    """'08:00–22:00' on ``day`` (None: closed that day)."""
    span = hours.span(day)
    return None if span is None else f"{clock_text(span[0])}–{clock_text(span[1])}"


def windows(hours: DeskCalendar) -> list[str]:
    """Call-back windows on /contact: 'asap' and three-hour slots within the usual day's hours
    ('09-12')."""
    out = [ASAP]
    usual = hours.usual or (9 * 60, 21 * 60)
    start, end = usual[0] // 60, -(-usual[1] // 60)
    while start < end:
        stop = min(start + WINDOW_HOURS, end)
        out.append(f"{start:02d}-{stop:02d}")
        start = stop
    return out


def slot_key(at: datetime) -> str:
    """A booked call-back slot as the request's time window: '2026-12-20T08:00' (local)."""
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def window_label(key: str, locale: str) -> str:
    if key == ASAP:
        return gettext(locale, N_("As soon as possible"))
    if "T" in key:  # a slot booked from the chat
        try:
            at = datetime.fromisoformat(key).replace(tzinfo=LOCAL_TZ)
        except ValueError:
            return key
        day = format_skeleton("MMMEd", at, locale=locale)
        return gettext(locale, N_("{day}, from {time}"), day=day, time=at.strftime("%H:%M"))
    start, _, stop = key.partition("-")
    return f"{start}:00–{stop}:00"
