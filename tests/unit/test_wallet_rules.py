"""Pure wallet rules: withdrawal fees, business-day arrival dates, the velocity rule."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.risk.restrictions import too_frequent
from qianbao.settings import CN_HOLIDAYS_2026, CN_WORKDAYS_2026, FeeRule
from qianbao.wallet.business_days import arrival_date, is_business_day
from qianbao.wallet.fees import FeeSchedule

CARD = FeeSchedule.from_rule(
    FeeRule(fixed="1.00", percent="0.1", minimum="1.00", maximum="25.00"), "CNY"
)
HOLIDAYS = [date.fromisoformat(d) for d in CN_HOLIDAYS_2026]
WORKDAYS = [date.fromisoformat(d) for d in CN_WORKDAYS_2026]


def test_fee_fixed_plus_percent_between_min_and_max():
    assert CARD.fee_for(10_000) == 110  # 100.00 -> 1.00 + 0.10
    assert CARD.fee_for(1) == 100  # the minimum
    assert CARD.fee_for(5) == 100
    assert CARD.fee_for(123_45) == 112  # 0.12345 rounds half-up to 0.12
    assert CARD.fee_for(125_00) == 113  # 0.125 -> 0.13 (half up, not to even)
    assert CARD.fee_for(100_000_000) == 2_500  # the maximum
    flat = FeeSchedule.from_rule(FeeRule(fixed="5.00", minimum="5.00", maximum="5.00"), "CNY")
    assert flat.fee_for(1) == flat.fee_for(10**9) == 500
    jpy = FeeSchedule.from_rule(FeeRule(fixed="100", percent="1"), "JPY")
    assert jpy.fee_for(12_345) == 223  # whole yen


@given(st.integers(min_value=1, max_value=10**12))
def test_fee_is_exact_and_bounded(amount: int):
    fee = CARD.fee_for(amount)
    assert 100 <= fee <= 2_500
    exact = Decimal(100) + Decimal(amount) / 1000
    assert abs(Decimal(fee) - min(max(exact, Decimal(100)), Decimal(2_500))) <= Decimal("0.5")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def test_arrival_counts_business_days_weekends_holidays_and_the_cutoff():
    kw = {"holidays": HOLIDAYS, "workdays": WORKDAYS, "cutoff_hour": 16}
    # Monday morning, one business day -> Tuesday.
    assert arrival_date(_at("2026-11-23T10:00"), 1, **kw) == date(2026, 11, 24)
    # Monday after the cut-off -> counts from Tuesday -> Wednesday.
    assert arrival_date(_at("2026-11-23T17:30"), 1, **kw) == date(2026, 11, 25)
    # Friday morning -> Monday; Saturday -> from Monday -> Tuesday.
    assert arrival_date(_at("2026-11-27T09:00"), 1, **kw) == date(2026, 11, 30)
    assert arrival_date(_at("2026-11-28T09:00"), 1, **kw) == date(2026, 12, 1)
    # National Day: asked on 30 September -> the holiday week does not count, and Saturday
    # 10 October is a working day (调休).
    assert arrival_date(_at("2026-09-30T10:00"), 1, **kw) == date(2026, 10, 8)
    assert arrival_date(_at("2026-10-09T10:00"), 1, **kw) == date(2026, 10, 10)
    assert is_business_day(date(2026, 10, 10), HOLIDAYS, WORKDAYS)
    assert not is_business_day(date(2026, 10, 5), HOLIDAYS, WORKDAYS)
    # Spring Festival 2026.
    assert arrival_date(_at("2026-02-13T10:00"), 1, **kw) == date(2026, 2, 14)
    assert arrival_date(_at("2026-02-14T10:00"), 1, **kw) == date(2026, 2, 24)


def test_velocity_rule():
    assert not too_frequent(29, 30)
    assert too_frequent(30, 30)
    assert not too_frequent(10**6, 0)  # 0 turns it off
