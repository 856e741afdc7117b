"""Money and times as people read them, the same on every page and in every message."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.money import CURRENCIES


def format_datetime(value: datetime | None, locale: str) -> str:
    """'2026年11月22日 09:17' / 'Nov 22, 2026 9:17 AM' in China time (minutes are enough)."""
    if value is None:
        return ""
    local = value.astimezone(LOCAL_TZ)
    day = format_date(local, "medium", locale=locale)
    return f"{day} {format_time(local, 'short', locale=locale)}"


def format_money(minor: int | None, currency: str, locale: str) -> str:
    """'¥1,234.56' in zh_CN and en; exact (Decimal from integer minor units). USDT, which has
    no symbol, is written '1,234.560000 USDT'."""
    if minor is None:
        return ""
    exponent = CURRENCIES[currency].exponent
    value = Decimal(minor).scaleb(-exponent)
    if currency == "USDT":
        return f"{format_decimal(value, format='#,##0.' + '0' * exponent, locale=locale)} USDT"
    return format_currency(value, currency, locale=locale, currency_digits=True)
