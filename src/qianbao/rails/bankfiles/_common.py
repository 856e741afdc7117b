"""What every bank-file parser shares: amounts, dates, the refusals they raise, and the checks a
statement's figures must pass (the control sum). Refusal reasons are English, marked with ``N_``;
the web layer translates them and fills their ``{placeholders}`` from the error's params."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, NoReturn

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import (
    CURRENCIES,
    AmountTooLarge,
    Money,
    MoneyError,
    NegativeAmount,
    TooManyDecimals,
    UnknownCurrency,
    ZeroAmount,
)
from qianbao.rails.bankfiles.model import BankFileInvalid, StatementEntry

NOT_A_STATEMENT = N_("not a camt.053, camt.054 or MT940 file")
MISSING = N_("the required element {element} is missing")
NO_BANK_REF = N_("the entry has no bank reference")
NO_OPENING = N_("the statement has no opening balance")
NO_CLOSING = N_("the statement has no closing balance")
CURRENCY_MISMATCH = N_("the currency {currency} differs from the account currency {expected}")
NOT_DECIMAL = N_("the amount {value} is not a decimal amount")
INVALID_DATE = N_("the date {value} is not a valid date")
CONTROL_SUM = N_(
    "the opening balance {opening} plus the entries gives {computed}, "
    "but the closing balance is {closing}"
)

_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})?")
_DATETIME_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def refuse(line: int, reason: str, **params: Any) -> NoReturn:
    """Refuse the whole file: ``reason`` is an ``N_`` message filled with ``params``."""
    raise BankFileInvalid(line=max(1, line), reason=reason, **params)


def parse_amount(text: str | None, currency: str, *, line: int, allow_zero: bool = False) -> int:
    """A decimal amount (``12.50``) in minor units of ``currency``; refusals say why.

    Zeros beyond the currency's decimals are dropped first (``12.500`` CNY is ``12.50``): the
    ISO schemas allow five decimals whatever the currency."""
    if text is None:
        refuse(line, MISSING, element="Amt")
    value = text.strip()
    exponent = CURRENCIES[currency].exponent if currency in CURRENCIES else None
    if exponent is not None and "." in value:
        whole, _, frac = value.partition(".")
        if len(frac) > exponent and frac[exponent:].strip("0") == "":
            frac = frac[:exponent]
            value = f"{whole}.{frac}" if frac else whole
    try:
        return Money.parse(value, currency, allow_zero=allow_zero).minor
    except MoneyError as exc:
        _refuse_money(exc, value, currency, line)


def _refuse_money(exc: MoneyError, value: str, currency: str, line: int) -> NoReturn:
    if isinstance(exc, UnknownCurrency):
        refuse(line, N_("the currency {currency} is not supported"), currency=currency)
    if isinstance(exc, TooManyDecimals):
        refuse(
            line,
            N_("the amount {value} has more decimal places than {currency} allows"),
            value=value,
            currency=currency,
        )
    if isinstance(exc, NegativeAmount):
        refuse(line, N_("the amount {value} is negative"), value=value)
    if isinstance(exc, ZeroAmount):
        refuse(line, N_("the amount is zero"), value=value)
    if isinstance(exc, AmountTooLarge):
        refuse(line, N_("the amount {value} is too large"), value=value)
    refuse(line, NOT_DECIMAL, value=value)


def check_currency(currency: str, *, line: int) -> str:
    if currency not in CURRENCIES:
        refuse(line, N_("the currency {currency} is not supported"), currency=currency)
    return currency


def money_text(minor: int, currency: str) -> str:
    return Money(minor, currency).to_decimal_string()


def parse_iso_date(text: str | None, *, line: int, element: str) -> date:
    """An ISO date (``2024-05-01``; a time-zone suffix, which xs:date allows, is ignored)."""
    if text is None:
        refuse(line, MISSING, element=element)
    value = text.strip()
    match = _DATE_RE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        refuse(line, INVALID_DATE, value=value)


def parse_iso_datetime(text: str | None, *, line: int, element: str) -> datetime:
    """An ISO date and time; one without an offset is China time (banks here send local time)."""
    if text is None:
        refuse(line, MISSING, element=element)
    value = text.strip()
    match = _DATETIME_RE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        day, clock, frac, zone = match.groups()
        micro = (frac or "")[:6].ljust(6, "0")
        offset = "" if zone is None else "+00:00" if zone == "Z" else zone
        parsed = datetime.fromisoformat(f"{day}T{clock}.{micro}{offset}")
    except ValueError:
        refuse(line, N_("the date and time {value} is not valid"), value=value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL_TZ)


def yymmdd(text: str, *, line: int) -> date:
    """A SWIFT date, ``YYMMDD`` (this century)."""
    try:
        if not re.fullmatch(r"[0-9]{6}", text):
            raise ValueError(text)
        return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        refuse(line, INVALID_DATE, value=text)


def check_control_sum(
    opening: int, closing: int, entries: Iterable[StatementEntry], currency: str, *, line: int
) -> None:
    """Opening + credits − debits must give the closing balance."""
    computed = opening
    for entry in entries:
        computed += entry.amount if entry.direction == "credit" else -entry.amount
    if computed != closing:
        refuse(
            line,
            CONTROL_SUM,
            opening=money_text(opening, currency),
            computed=money_text(computed, currency),
            closing=money_text(closing, currency),
        )


def join_chunks(chunks: Iterable[str], width: int, separator: str = " ") -> str:
    """Text a sender split into fields of ``width`` characters: a full field was cut where the
    limit fell, so the next one follows directly; a shorter one ended a phrase, so ``separator``
    goes between them (unless there is white space there already)."""
    out = ""
    previous: str | None = None
    for chunk in chunks:
        if previous is not None:
            spaced = previous[-1:].isspace() or chunk[:1].isspace()
            out += "" if len(previous) >= width or spaced else separator
        out += chunk
        previous = chunk
    return out
