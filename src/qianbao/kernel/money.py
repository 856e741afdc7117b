"""Money: integer minor units plus a currency with a fixed exponent. Never floats.

``Money.parse("12.34", "CNY")`` → ``Money(1234, "CNY")``; ``str(m)`` → ``"12.34"``. Parsing is
strict: no exponents, no NaN or infinities, no thousands separators, no more decimals than the
currency has, and no negatives unless asked for. Locale formatting happens at the edges (web).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_

INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("CNY", 2),
        Currency("USD", 2),
        Currency("EUR", 2),
        Currency("HKD", 2),
        Currency("JPY", 0),
        Currency("USDT", 6),
    )
}


class MoneyError(DomainError):
    kind = ErrorKind.INVALID


class UnknownCurrency(MoneyError):
    code = "money.unknown_currency"
    message = N_("This currency is not supported.")


class InvalidAmount(MoneyError):
    code = "money.invalid_amount"
    message = N_("Enter the amount as a number such as 12.34.")


class TooManyDecimals(MoneyError):
    code = "money.too_many_decimals"
    message = N_("This amount has more decimal places than {currency} allows ({places}).")


class NegativeAmount(MoneyError):
    code = "money.negative"
    message = N_("The amount must not be negative.")


class ZeroAmount(MoneyError):
    code = "money.zero"
    message = N_("The amount must be greater than zero.")


class AmountTooLarge(MoneyError):
    code = "money.too_large"
    message = N_("This amount is too large.")


class CurrencyMismatch(MoneyError):
    code = "money.currency_mismatch"
    message = N_("Amounts in different currencies cannot be combined.")


# ASCII digits only, matched whole (``\d`` takes any script's digits, ``$`` a trailing newline).
_AMOUNT_RE = re.compile(r"(-)?([0-9]+)(?:\.([0-9]+))?")


def currency(code: str) -> Currency:
    try:
        return CURRENCIES[code]
    except KeyError:
        raise UnknownCurrency(currency=code) from None


@dataclass(frozen=True, slots=True, order=False)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:  # bool and float are refused too
            raise InvalidAmount()
        if abs(self.minor) > INT64_MAX:
            raise AmountTooLarge()
        currency(self.currency)

    @classmethod
    def parse(
        cls, text: str, currency_code: str, *, allow_negative: bool = False, allow_zero: bool = True
    ) -> Money:
        cur = currency(currency_code)
        if not isinstance(text, str):
            raise InvalidAmount()
        match = _AMOUNT_RE.fullmatch(text)
        if match is None:
            raise InvalidAmount()
        sign, whole, frac = match.groups()
        frac = frac or ""
        if len(frac) > cur.exponent:
            raise TooManyDecimals(currency=cur.code, places=cur.exponent)
        if len(whole) > 19:
            raise AmountTooLarge()
        minor = int(whole) * 10**cur.exponent + int(frac.ljust(cur.exponent, "0") or "0")
        if sign:
            minor = -minor
        if minor < 0 and not allow_negative:
            raise NegativeAmount()
        if minor == 0 and not allow_zero:
            raise ZeroAmount()
        return cls(minor, cur.code)

    @classmethod
    def zero(cls, currency_code: str) -> Money:
        return cls(0, currency_code)

    @property
    def exponent(self) -> int:
        return CURRENCIES[self.currency].exponent

    def to_decimal_string(self) -> str:
        exp = self.exponent
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exp) if exp else (abs(self.minor), 0)
        return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"

    def __str__(self) -> str:
        return self.to_decimal_string()

    def text(self) -> str:
        """The amount with its currency code, as messages show it: ``12.34 CNY``."""
        return f"{self.to_decimal_string()} {self.currency}"

    def to_json(self) -> dict[str, str]:
        return {"amount": self.to_decimal_string(), "currency": self.currency}

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money can only be combined with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch()

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def is_zero(self) -> bool:
        return self.minor == 0
