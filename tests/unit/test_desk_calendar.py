"""The desk's one calendar and the agents' shifts (support.desk_calendar): open and closed around
midnight, holidays and make-up workdays, single-day exceptions, 7×24 as a setting, a night shift
over midnight staffing the desk, and the settings it is read from (old names included)."""

from __future__ import annotations

from datetime import date, datetime

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.settings import ChatSettings, PaymentsSettings, SupportSettings
from qianbao.settings_desk import DeskHoursSettings
from qianbao.support.channels.hours import describe, window_label, windows
from qianbao.support.desk_calendar import (
    DeskCalendar,
    Shift,
    expected_reply,
    from_settings,
    next_staffed,
    on_shift,
    staffed,
)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


class S:
    """The three settings groups the calendar reads."""

    def __init__(self, *, hours: dict | None = None, chat: dict | None = None, **support):
        self.support = SupportSettings(hours=DeskHoursSettings(**(hours or {})), **support)
        self.chat = ChatSettings(**(chat or {}))
        self.payments = PaymentsSettings(
            holidays=[date(2026, 10, 1), date(2026, 10, 2)], workdays=[date(2026, 10, 11)]
        )


def test_default_calendar_is_08_to_22_every_day_for_chat_and_hotline_alike() -> None:
    cal = from_settings(S())
    assert cal.is_open(local(2026, 12, 19, 8, 0))  # a Saturday
    assert cal.is_open(local(2026, 12, 19, 21, 59))
    assert not cal.is_open(local(2026, 12, 19, 22, 0))
    assert not cal.is_open(local(2026, 12, 19, 23, 9))
    assert not cal.is_open(local(2026, 12, 20, 0, 30))  # just after midnight
    assert not cal.is_open(local(2026, 12, 20, 7, 59))
    # 23:09 -> tomorrow 08:00, and the reply promised half an hour later.
    assert cal.next_opening(local(2026, 12, 19, 23, 9)) == local(2026, 12, 20, 8, 0)
    assert expected_reply(cal, local(2026, 12, 19, 23, 9), 30) == local(2026, 12, 20, 8, 30)
    assert cal.next_opening(local(2026, 12, 20, 0, 30)) == local(2026, 12, 20, 8, 0)
    assert describe(cal, "zh_CN") == "每天 08:00–22:00（北京时间）"
    assert describe(cal, "en") == "Every day, 08:00–22:00 (China time)"
    assert windows(cal) == ["asap", "08-11", "11-14", "14-17", "17-20", "20-22"]


def test_holidays_closed_and_a_worked_sunday_opens_with_mondays_hours() -> None:
    cal = from_settings(S(hours={"days": [1, 2, 3, 4, 5], "holidays_closed": True,
                                 "opens": "09:00", "closes": "18:00"}))  # fmt: skip
    assert not cal.is_open(local(2026, 10, 1, 10, 0))  # National Day, a Thursday
    assert cal.is_open(local(2026, 10, 11, 10, 0))  # a Sunday worked instead
    assert not cal.is_open(local(2026, 10, 10, 10, 0))  # an ordinary Saturday
    # Wednesday 30 September after hours -> the holiday and the weekend are skipped.
    assert cal.next_opening(local(2026, 9, 30, 19, 0)) == local(2026, 10, 5, 9, 0)
    assert describe(cal, "en") == (
        "Monday to Friday, 09:00–18:00 (China time), closed on public holidays"
    )
    # Without holidays_closed the holiday is an ordinary Thursday.
    assert from_settings(S(hours={"days": [1, 2, 3, 4, 5]})).is_open(local(2026, 10, 1, 10, 0))


def test_weekly_hours_and_exceptions() -> None:
    cal = from_settings(
        S(hours={"weekly": {6: "10:00-16:00", 7: "closed"},
                 "exceptions": {"2026-12-24": "08:00-12:00", "2026-12-31": "closed"}})
    )  # fmt: skip
    assert cal.is_open(local(2026, 12, 19, 15, 0)) and not cal.is_open(local(2026, 12, 19, 17, 0))
    assert not cal.is_open(local(2026, 12, 20, 12, 0))  # Sunday closed
    assert cal.is_open(local(2026, 12, 24, 11, 0)) and not cal.is_open(local(2026, 12, 24, 13, 0))
    assert not cal.is_open(local(2026, 12, 31, 12, 0))
    assert cal.next_opening(local(2026, 12, 19, 17, 0)) == local(2026, 12, 21, 8, 0)
    assert "Saturday, 10:00–16:00" in describe(cal, "en")


def test_7x24_is_a_setting() -> None:
    cal = from_settings(S(hours={"always_open": True}))
    for at in (local(2026, 12, 19, 23, 9), local(2026, 12, 20, 0, 0), local(2026, 10, 1, 3, 0)):
        assert cal.is_open(at) and cal.next_opening(at) == at
    assert describe(cal, "zh_CN") == "每天 24 小时（7×24）"
    assert describe(cal, "en") == "Around the clock, every day (7×24)"
    # Open until midnight and from midnight: one period over the night.
    late = from_settings(S(hours={"opens": "00:00", "closes": "24:00"}))
    assert late.is_open(local(2026, 12, 19, 23, 59)) and late.is_open(local(2026, 12, 20, 0, 0))


def test_a_night_shift_over_midnight_staffs_the_desk() -> None:
    cal = from_settings(S())
    night = Shift("wu", 6, 22 * 60, 8 * 60)  # Saturday 22:00 - Sunday 08:00
    assert night.overnight
    assert night.covers(local(2026, 12, 19, 23, 9))  # Saturday night
    assert night.covers(local(2026, 12, 20, 3, 0))  # Sunday early morning
    assert not night.covers(local(2026, 12, 20, 8, 0))
    assert not night.covers(local(2026, 12, 19, 21, 0))
    assert not night.covers(local(2026, 12, 21, 3, 0))  # Monday early morning: not this one
    sunday_night = Shift("li", 7, 22 * 60, 8 * 60)
    assert sunday_night.covers(local(2026, 12, 21, 3, 0))  # Monday 03:00 from Sunday's shift
    assert staffed(cal, [night], local(2026, 12, 19, 23, 9))
    assert not staffed(cal, [], local(2026, 12, 19, 23, 9))
    assert on_shift([night, sunday_night], local(2026, 12, 20, 3, 0)) == {"wu"}
    # Friday 23:00: nobody until Saturday 08:00; with the Saturday shift, the calendar first.
    assert next_staffed(cal, [night], local(2026, 12, 18, 23, 0)) == local(2026, 12, 19, 8, 0)
    # Saturday 22:30 with no one on: the reply waits for Sunday 08:00 + 30 minutes;
    # a shift starting at 23:00 brings it forward.
    late = Shift("zhao", 6, 23 * 60, 24 * 60)
    assert expected_reply(cal, local(2026, 12, 19, 22, 30), 30) == local(2026, 12, 20, 8, 30)
    assert expected_reply(cal, local(2026, 12, 19, 22, 30), 30, [late]) == local(
        2026, 12, 19, 23, 30
    )


def test_old_setting_names_still_work() -> None:
    # chat.opens_at / closes_at / business_days_only, when set, shape the one calendar.
    cal = from_settings(S(chat={"opens_at": 0, "closes_at": 24}))
    assert cal.is_open(local(2026, 12, 19, 23, 9))
    cal = from_settings(S(chat={"business_days_only": True}))
    assert not cal.is_open(local(2026, 12, 19, 12, 0)) and not cal.is_open(
        local(2026, 10, 1, 12, 0)
    )
    # The hotline's old names too, below the chat's; the new group wins over both.
    cal = from_settings(
        S(hotline_open="09:00", hotline_close="21:00", hotline_days=[1, 2, 3, 4, 5])
    )
    assert describe(cal, "en") == "Monday to Friday, 09:00–21:00 (China time)"
    cal = from_settings(S(hours={"opens": "07:00"}, chat={"opens_at": 10}))
    assert cal.is_open(local(2026, 12, 19, 7, 30))
    # The old chat Hours' shape.
    old = DeskCalendar.of(opens_at=8, closes_at=22, business_days_only=True)
    assert (old.opens_at, old.closes_at) == (8, 22) and not old.is_open(local(2026, 12, 19, 9, 0))


def test_a_booked_slot_is_labelled_in_both_languages() -> None:
    assert window_label("2026-12-20T08:00", "en") == "Sun, Dec 20, from 08:00"
    assert window_label("2026-12-20T08:00", "zh_CN") == "12月20日周日 08:00 起"
    assert window_label("09-12", "en") == "09:00–12:00"
