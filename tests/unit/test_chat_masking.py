"""Masking what customers must never share (codes, PINs, card numbers) before a chat message is
stored or shown; the chat desk's business hours."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.support.chat.hours import Hours, expected_reply
from qianbao.support.chat.masking import luhn_valid, mask


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my code is 123456", "my code is ******"),
        ("验证码是 482913，请问怎么办", "验证码是 ******，请问怎么办"),
        ("123456", "******"),
        ("PIN 2580", "PIN ****"),
        ("my pin is 0000 thanks", "my pin is **** thanks"),
        ("支付密码：13579", "支付密码：****"),
        ("密码是1234", "密码是****"),
        ("Code: 4321", "Code: ****"),
        ("card 4111 1111 1111 1111 please", "card **** **** **** 1111 please"),
        ("4111-1111-1111-1111", "**** **** **** 1111"),
        ("6212262201023557228", "**** **** **** 7228"),  # 19-digit UnionPay-style, Luhn-valid
        ("378282246310005", "**** **** **** 0005"),  # 15-digit Amex test number
    ],
)
def test_masked(text: str, expected: str) -> None:
    out = mask(text)
    assert out.text == expected
    assert out.masked is True


@pytest.mark.parametrize(
    "text",
    [
        "I sent 100 yuan yesterday",
        "order 12345 is late",  # five digits with no secret word before them
        "call me on 13800138000",  # a phone number: eleven digits, not a card, not a code
        "4111 1111 1111 1112",  # Luhn-invalid: not a card number
        "on 2026-11-22 at 09:30",
        "transfer reference 20261122",  # eight digits
        "1234567",  # seven digits
        "",
    ],
)
def test_left_alone(text: str) -> None:
    out = mask(text)
    assert out.text == text
    assert out.masked is False


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("41x1")


def test_everything_in_one_message() -> None:
    out = mask("验证码 123456, PIN 2580, card 4111 1111 1111 1111")
    assert out.text == "验证码 ******, PIN ****, card **** **** **** 1111"


HOURS = Hours.of(
    opens_at=8,
    closes_at=22,
    business_days_only=True,
    holidays=[date(2026, 10, 1)],
    workdays=[date(2026, 10, 11)],  # a Sunday worked instead
)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


def test_business_hours() -> None:
    assert HOURS.is_open(local(2026, 11, 23, 9, 0))  # Monday
    assert not HOURS.is_open(local(2026, 11, 23, 22, 0))
    assert not HOURS.is_open(local(2026, 11, 22, 12, 0))  # Sunday
    assert not HOURS.is_open(local(2026, 10, 1, 12, 0))  # holiday
    assert HOURS.is_open(local(2026, 10, 11, 12, 0))  # worked Sunday
    # Friday night -> Monday 08:00, plus the promised 30 minutes.
    assert HOURS.next_opening(local(2026, 11, 27, 23, 0)) == local(2026, 11, 30, 8, 0)
    assert expected_reply(HOURS, local(2026, 11, 27, 23, 0), 30) == local(2026, 11, 30, 8, 30)
    # Early morning on a workday -> the same day.
    assert HOURS.next_opening(local(2026, 11, 24, 6, 0)) == local(2026, 11, 24, 8, 0)
    every_day = Hours.of(opens_at=0, closes_at=24, business_days_only=False)
    assert every_day.is_open(local(2026, 11, 22, 3, 0))
