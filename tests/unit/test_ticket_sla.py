"""Business-hour arithmetic of ticket SLAs (09:00-18:00 China time, business days only)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.support.tickets import attachments as att
from qianbao.support.tickets.sla import BusinessCalendar, add_business_hours, business_hours_between

CAL = BusinessCalendar.of(
    holidays=[date(2026, 10, 1), date(2026, 10, 2)], workdays=[date(2026, 10, 10)]
)


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (cst(2026, 11, 23, 10, 0), 1, cst(2026, 11, 23, 11, 0)),  # Monday, within the day
        (cst(2026, 11, 23, 17, 0), 4, cst(2026, 11, 24, 12, 0)),  # runs over the evening
        (cst(2026, 11, 23, 7, 30), 1, cst(2026, 11, 23, 10, 0)),  # before opening
        (cst(2026, 11, 23, 20, 0), 1, cst(2026, 11, 24, 10, 0)),  # after closing
        (cst(2026, 11, 27, 16, 0), 4, cst(2026, 11, 30, 11, 0)),  # Friday -> Monday
        (cst(2026, 11, 28, 12, 0), 8, cst(2026, 11, 30, 17, 0)),  # Saturday start
        (cst(2026, 11, 23, 9, 0), 9, cst(2026, 11, 23, 18, 0)),  # exactly one day
        (cst(2026, 9, 30, 17, 0), 2, cst(2026, 10, 5, 10, 0)),  # holidays 1-2 Oct, weekend
        (cst(2026, 10, 9, 17, 0), 2, cst(2026, 10, 10, 10, 0)),  # a Saturday worked (调休)
        (cst(2026, 11, 23, 10, 0), 0, cst(2026, 11, 23, 10, 0)),
    ],
)
def test_add_business_hours(start: datetime, hours: float, expected: datetime) -> None:
    got = add_business_hours(start, hours, CAL)
    assert got == expected
    assert got.tzinfo == UTC


def test_between_is_the_inverse_and_ignores_nights_and_weekends() -> None:
    start = cst(2026, 11, 27, 16, 0)
    end = add_business_hours(start, 13.5, CAL)
    assert business_hours_between(start, end, CAL) == 13.5
    assert business_hours_between(cst(2026, 11, 28, 0, 0), cst(2026, 11, 29, 23, 0), CAL) == 0
    assert business_hours_between(end, start, CAL) == 0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        add_business_hours(datetime(2026, 11, 23, 10, 0), 1, CAL)  # noqa: DTZ001 naive
    with pytest.raises(ValueError):
        add_business_hours(cst(2026, 11, 23, 10, 0), -1, CAL)
    with pytest.raises(ValueError):
        BusinessCalendar.of(open_hour=18, close_hour=9)


@pytest.mark.parametrize(
    ("name", "data", "ok"),
    [
        ("a.png", b"\x89PNG\r\n\x1a\n....", True),
        ("a.jpg", b"\xff\xd8\xff\xe0....", True),
        ("a.pdf", b"%PDF-1.7\n...", True),
        ("notes.txt", "你好 hello\n".encode(), True),
        ("a.png", b"MZ\x90\x00 not a picture", False),  # an executable renamed
        ("a.exe", b"plain text", False),  # text, but the name says otherwise
        ("a.txt", b"\x89PNG\r\n\x1a\n....", False),  # a picture named .txt
        ("page.html", b"<script>alert(1)</script>", False),
    ],
)
def test_attachment_types_are_sniffed(name: str, data: bytes, ok: bool) -> None:
    if ok:
        assert att.check([att.Upload(name, data)], max_bytes=100, max_count=5)[0].filename == name
    else:
        with pytest.raises(att.AttachmentRefused):
            att.check([att.Upload(name, data)], max_bytes=100, max_count=5)


def test_attachment_size_and_count() -> None:
    with pytest.raises(att.AttachmentTooLarge):
        att.check([att.Upload("a.txt", b"x" * 101)], max_bytes=100, max_count=5)
    with pytest.raises(att.TooManyAttachments):
        att.check([att.Upload("a.txt", b"x")] * 3, max_bytes=100, max_count=2)
    assert att.safe_filename("../../etc/pass\x00wd.txt") == "passwd.txt"
