import pytest
from hypothesis import given
from hypothesis import strategies as st

from qianbao.kernel import money as m
from qianbao.kernel.money import Money


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.34", "CNY", 1234),
        ("0.01", "USD", 1),
        ("100", "JPY", 100),
        ("1.000001", "USDT", 1_000_001),
        ("12", "CNY", 1200),
        ("12.3", "CNY", 1230),
        ("0", "EUR", 0),
    ],
)
def test_parse_exact(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "error"),
    [
        ("12.345", "CNY", m.TooManyDecimals),
        ("12.340", "CNY", m.TooManyDecimals),
        ("1.5", "JPY", m.TooManyDecimals),
        ("1e3", "CNY", m.InvalidAmount),
        ("NaN", "CNY", m.InvalidAmount),
        ("Infinity", "CNY", m.InvalidAmount),
        ("1,000.00", "CNY", m.InvalidAmount),
        (" 12", "CNY", m.InvalidAmount),
        ("+12", "CNY", m.InvalidAmount),
        (".5", "CNY", m.InvalidAmount),
        ("12.", "CNY", m.InvalidAmount),
        ("", "CNY", m.InvalidAmount),
        ("-1.00", "CNY", m.NegativeAmount),
        ("12.00", "XXX", m.UnknownCurrency),
        ("99999999999999999999", "CNY", m.AmountTooLarge),
    ],
)
def test_parse_rejects(text, currency, error):
    with pytest.raises(error):
        Money.parse(text, currency)


def test_negative_and_zero_only_when_asked():
    assert Money.parse("-1.50", "CNY", allow_negative=True).minor == -150
    with pytest.raises(m.ZeroAmount):
        Money.parse("0.00", "CNY", allow_zero=False)


def test_floats_and_bools_are_not_money():
    with pytest.raises(m.InvalidAmount):
        Money(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(m.InvalidAmount):
        Money(True, "CNY")  # type: ignore[arg-type]
    with pytest.raises(m.InvalidAmount):
        Money.parse(12.34, "CNY")  # type: ignore[arg-type]


def test_arithmetic_needs_one_currency():
    assert Money(150, "CNY") + Money(50, "CNY") == Money(200, "CNY")
    assert Money(150, "CNY") - Money(200, "CNY") == Money(-50, "CNY")
    assert Money(1, "CNY") < Money(2, "CNY")
    with pytest.raises(m.CurrencyMismatch):
        Money(1, "CNY") + Money(1, "USD")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1234, "CNY", "12.34"),
        (-5, "CNY", "-0.05"),
        (7, "JPY", "7"),
        (1, "USDT", "0.000001"),
        (0, "USD", "0.00"),
    ],
)
def test_decimal_string(minor, currency, text):
    assert str(Money(minor, currency)) == text
    assert Money(minor, currency).to_json() == {"amount": text, "currency": currency}


@given(st.integers(-(10**15), 10**15), st.sampled_from(sorted(m.CURRENCIES)))
def test_round_trip(minor, currency):
    value = Money(minor, currency)
    assert Money.parse(str(value), currency, allow_negative=True) == value


@pytest.mark.parametrize(
    "text",
    ["１００", "١٠٠", "१००", "1.00\n", "\n1.00", " 1", "1 ", "1.０", "１.00", "+1", "1e2", "0x10"],
)
def test_the_api_takes_ascii_digits_only(text):
    """One parser, one rule (issue 13, defect 3): any other script's digits, a stray newline or
    space, an exponent or a sign other than "-" is not an amount."""
    with pytest.raises(m.InvalidAmount):
        Money.parse(text, "CNY")


@pytest.mark.parametrize(
    ("typed", "understood"),
    [
        ("１００", "100"),
        ("１２．５０", "12.50"),
        (" 12.5 ", "12.5"),
        ("－１", "-1"),
        ("١٠٠", "١٠٠"),
    ],
)
def test_pages_turn_what_an_ime_types_into_ascii_first(typed, understood):
    from qianbao.kernel.text import from_typing

    assert from_typing(typed) == understood


def test_pins_and_codes_are_six_ascii_digits():
    from qianbao.kernel.text import is_ascii_digits

    assert is_ascii_digits("258013", 6)
    for wrong in (
        "２５８０１３",
        "٢٥٨٠١٣",
        "25801",
        "2580133",
        "258013\n",
        " 258013",
        258013,
        None,
    ):
        assert not is_ascii_digits(wrong, 6), wrong
