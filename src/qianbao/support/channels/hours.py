"""The hotline's opening hours (settings ``support.hotline_*``), described in the user's
language, and the time windows a call-back can be asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from babel.dates import get_day_names

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.settings import SupportSettings

ASAP = "asap"
WINDOW_HOURS = 3


@dataclass(frozen=True)
class Hours:
    days: tuple[int, ...]  # ISO weekdays, 1 = Monday
    opens: time
    closes: time

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(LOCAL_TZ)
        return local.isoweekday() in self.days and self.opens <= local.time() < self.closes


def _time(text: str, fallback: time) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        return fallback


def hours_of(cfg: SupportSettings) -> Hours:
    days = tuple(sorted({d for d in cfg.hotline_days if 1 <= d <= 7})) or (1, 2, 3, 4, 5, 6, 7)
    return Hours(days, _time(cfg.hotline_open, time(9)), _time(cfg.hotline_close, time(21)))


def describe(hours: Hours, locale: str) -> str:
    """'每天 09:00–21:00（北京时间）' / 'Every day, 09:00–21:00 (China time)'."""
    span = {"opens": hours.opens.strftime("%H:%M"), "closes": hours.closes.strftime("%H:%M")}
    if hours.days == (1, 2, 3, 4, 5, 6, 7):
        return gettext(locale, N_("Every day, {opens}–{closes} (China time)"), **span)
    if hours.days == (1, 2, 3, 4, 5):
        return gettext(locale, N_("Monday to Friday, {opens}–{closes} (China time)"), **span)
    names = get_day_names("wide", locale=locale)
    days = ("、" if locale == "zh_CN" else ", ").join(names[d - 1] for d in hours.days)
    return gettext(locale, N_("{days}, {opens}–{closes} (China time)"), days=days, **span)


def windows(hours: Hours) -> list[str]:
    """Call-back windows: 'asap' and three-hour slots within the hotline's hours ('09-12')."""
    out = [ASAP]
    start = hours.opens.hour
    end = hours.closes.hour + (1 if hours.closes.minute else 0)
    while start < end:
        stop = min(start + WINDOW_HOURS, end)
        out.append(f"{start:02d}-{stop:02d}")
        start = stop
    return out


def window_label(key: str, locale: str) -> str:
    if key == ASAP:
        return gettext(locale, N_("As soon as possible"))
    start, _, stop = key.partition("-")
    return f"{start}:00–{stop}:00"
