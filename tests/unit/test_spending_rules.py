"""What counts as spending, in which category (wallet/insights.py): the pure rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.merchants.categories import CATEGORIES as MERCHANT_CATEGORIES
from qianbao.wallet import insights
from qianbao.wallet.errors_budgets import MonthInFuture, MonthInvalid
from qianbao.wallet.insights import Group, fold
from qianbao.wallet.models_budgets import BUDGET_CATEGORIES

DEC = date(2026, 12, 1)


def test_every_merchant_category_code_has_a_spending_category():
    assert set(MERCHANT_CATEGORIES) == set(insights.MCC_CATEGORIES)
    assert set(insights.MCC_CATEGORIES.values()) <= set(insights.CATEGORIES)
    assert list(BUDGET_CATEGORIES) == [insights.TOTAL, *insights.CATEGORIES]


def test_the_rules_of_spending():
    groups = [
        Group(DEC, "payment", "out", "5814", False, 28_00, 0),  # a coffee: food
        Group(DEC, "payment", "out", "5651", False, 199_99, 0),  # clothes: shopping
        Group(DEC, "payment", "out", None, False, 1, 0),  # no code: other
        Group(DEC, "refund", "in", "5814", False, 10_00, 0),  # money back from the café
        Group(DEC, "refund", "in", "5814", True, 5_00, 0),  # a chargeback (case and shop)
        Group(DEC, "refund", "in", None, True, 30_00, 0),  # a claim about a transfer
        Group(DEC, "refund", "out", None, True, 99_00, 0),  # a recipient paying back: not spent
        Group(DEC, "transfer", "out", None, False, 100_00, 0),
        Group(DEC, "transfer", "in", None, False, 500_00, 0),  # money received: not spending
        Group(DEC, "withdrawal", "out", None, False, 300_00, 2_00),  # only its fee
        Group(DEC, "withdrawal", "in", None, False, 302_00, 0),  # returned by the bank
        Group(DEC, "exchange", "out", None, False, 695_00, 5_00),  # only the spread
        Group(DEC, "exchange", "in", None, False, 99_00, 0),
        Group(DEC, "topup", "in", None, False, 1000_00, 0),
        Group(DEC, "fee", "out", None, False, 1_50, 0),
        Group(DEC, "fee", "in", None, False, 50, 0),  # a fee given back
        Group(DEC, "adjustment", "out", None, False, 7_00, 0),
    ]
    assert fold(groups) == {
        DEC: {
            "food": 13_00,
            "shopping": 199_99,
            "other": 1,
            "transfers": 70_00,
            "fees": 2_00 + 5_00 + 1_50 - 50,
        }
    }


def test_a_category_that_nets_to_zero_is_left_out_and_one_below_zero_stays():
    groups = [
        Group(DEC, "payment", "out", "5411", False, 50_00, 0),
        Group(DEC, "refund", "in", "5411", False, 50_00, 0),
        Group(DEC, "refund", "in", "5732", False, 80_00, 0),  # bought last month
    ]
    assert fold(groups) == {DEC: {"shopping": -80_00}}
    shown = insights.shares({"shopping": -80_00, "food": 30_00, "fees": 10_00})
    assert [(c.category, c.amount, c.share) for c in shown] == [
        ("food", 30_00, Decimal("75.0")),
        ("fees", 10_00, Decimal("25.0")),
        ("shopping", -80_00, None),
    ]


def test_shares_are_rounded_half_up_to_one_decimal_and_equal_amounts_keep_the_list_order():
    shown = insights.shares({"transfers": 1, "food": 1, "fees": 1})
    assert [(c.category, c.share) for c in shown] == [
        ("food", Decimal("33.3")),
        ("transfers", Decimal("33.3")),
        ("fees", Decimal("33.3")),
    ]
    assert insights.percent(1, 8) == Decimal("12.5") and insights.percent(1, 16) == Decimal("6.3")


def test_months_are_read_year_first_with_ascii_digits_and_never_in_the_future():
    now = datetime(2026, 12, 1, 0, 5, tzinfo=LOCAL_TZ)  # just into December in China
    assert insights.parse_month(None, now) == DEC
    assert insights.parse_month("", now) == DEC
    assert insights.parse_month("2026-12", now) == DEC
    assert insights.parse_month("2000-01", now) == date(2000, 1, 1)
    for bad in ("2026-13", "2026-00", "2026-1", "26-12", "2026/12", "２０２６-１２", "2026-12\n",
                "2026-12-01", "december", "1999-12", "0000-01"):  # fmt: skip
        with pytest.raises(MonthInvalid):
            insights.parse_month(bad, now)
    with pytest.raises(MonthInFuture):
        insights.parse_month("2027-01", now)
    # 2026-11-30 16:05 UTC is already December in China.
    assert insights.month_of(datetime(2026, 11, 30, 16, 5, tzinfo=UTC)) == DEC
    assert insights.month_of(datetime(2026, 11, 30, 15, 59, tzinfo=UTC)) == date(2026, 11, 1)
    assert insights.add_months(DEC, 1) == date(2027, 1, 1)
    assert insights.add_months(DEC, -12) == date(2025, 12, 1)
    assert insights.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
