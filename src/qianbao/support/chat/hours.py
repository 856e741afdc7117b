"""The chat desk's hours: the one desk calendar (``support.desk_calendar``) under its old names,
and the line the chat shows above "talk to a person" (the hours and the reply to expect)."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_skeleton

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.support.desk_calendar import DeskCalendar, expected_reply

Hours = DeskCalendar

__all__ = ["Hours", "expected_reply", "relative_time"]


def relative_time(at: datetime, now: datetime, locale: str) -> str:
    """'今天 21:30' / '明天 08:30' / '12月24日周四 08:30' (China time)."""
    local, today = at.astimezone(LOCAL_TZ), now.astimezone(LOCAL_TZ).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return gettext(locale, N_("today {time}"), time=clock)
    if local.date() == today + timedelta(days=1):
        return gettext(locale, N_("tomorrow {time}"), time=clock)
    return f"{format_skeleton('MMMEd', local, locale=locale)} {clock}"
