"""Several currencies and exchange between a user's own wallets (B12).

A user opens a wallet in each currency the operator enables. An exchange is two steps:

1. ``quote``: the rate in force (the operator's table, else the rate provider), the spread as a
   fee in the currency sold, and both amounts — asked for either way ("sell 100 CNY" or "get
   10 USD") — fixed until ``expires_at`` (the injected clock; ``fx.quote_ttl_s``).
2. ``confirm``: with the PIN, before the expiry, once. One ledger entry, balanced in each
   currency: the user's sold wallet → the fee account (the spread) and the operator's FX
   account in that currency; the operator's FX account in the bought currency → the user's
   wallet. The FX accounts carry the operator's position (they may go negative).

Amounts: the fee is the spread's percent of the amount sold (rounded half up, at least one
minor unit when the spread is not zero); the amount bought is rounded down. Asked for an amount
to get, the smallest amount to sell that buys it is quoted, and exactly that amount is bought.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from sqlalchemy import select, update

from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import CURRENCIES, Money
from qianbao.ledger import Ledger
from qianbao.ledger.accounts import system_account_id
from qianbao.ledger.commands import Leg, PostEntry, check_key
from qianbao.ledger.errors import InsufficientFunds
from qianbao.moneyconf import rates as fx_rates
from qianbao.moneyconf import values as moneyconf
from qianbao.wallet import limits
from qianbao.wallet.accounts import available, wallet_account, wallet_accounts
from qianbao.wallet.errors import (
    CurrencyNotOffered,
    ExchangeTooSmall,
    QuoteExpired,
    QuoteNotFound,
    QuoteUsed,
    RateUnavailable,
    SameCurrency,
)
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.models_fx import FxQuote
from qianbao.wallet.transfer import new_reference

SIDES = ("sell", "buy")


@dataclass(frozen=True)
class Pair:
    """The rate of one pair: units of ``buy`` for one unit of ``sell`` (mid), and the spread."""

    sell: str
    buy: str
    rate: Decimal
    spread: Decimal  # percent
    source: str


@dataclass(frozen=True)
class Amounts:
    sell: int  # minor units of the sold currency, the fee included
    fee: int
    buy: int


@dataclass(frozen=True)
class ExchangeDone:
    quote: FxQuote
    transaction_id: uuid.UUID  # the sold side's wallet row
    reference: str
    entry_id: uuid.UUID
    replayed: bool


# -- which currencies ------------------------------------------------------------------------------
async def offered(session: Any, settings: Any) -> list[str]:
    """The currencies customers may hold now, CNY first."""
    return await moneyconf.enabled_codes(session, settings)


async def require_offered(session: Any, settings: Any, code: str) -> None:
    if code not in CURRENCIES or code not in await offered(session, settings):
        raise CurrencyNotOffered(currency=code)


async def open_wallet(session: Any, settings: Any, user: User, code: str) -> None:
    """Open the user's wallet in ``code`` (nothing happens when it is open already)."""
    code = (code or "").strip().upper()
    await require_offered(session, settings, code)
    await wallet_account(session, user.id, code)


# -- rates and amounts -------------------------------------------------------------------------
async def pair(session: Any, settings: Any, sell: str, buy: str) -> Pair:
    if sell == buy:
        raise SameCurrency()
    found = []
    for code in (sell, buy):
        r = await fx_rates.rate(session, settings, code)
        if r is None:
            raise RateUnavailable(currency=code)
        found.append(r)
    s, b = found
    with localcontext() as ctx:
        ctx.prec = 40
        rate = s.per_cny / b.per_cny
    source = b.source if s.source == "base" else s.source
    if s.source not in ("base", b.source) and b.source != "base":
        source = f"{s.source}+{b.source}"
    # A cross pair (USD → USDT) pays the larger of the two spreads, not both.
    return Pair(sell, buy, rate, max(s.spread, b.spread), source)


def _fee(sell: int, spread: Decimal) -> int:
    if not spread:
        return 0
    with localcontext() as ctx:
        ctx.prec = 40
        fee = (Decimal(sell) * spread / 100).to_integral_value(ROUND_HALF_UP)
    return max(1, int(fee))


def _scale(p: Pair) -> Decimal:
    """Minor units of ``buy`` for one minor unit of ``sell``."""
    with localcontext() as ctx:
        ctx.prec = 40
        return p.rate * Decimal(10) ** (CURRENCIES[p.buy].exponent - CURRENCIES[p.sell].exponent)


def amounts_selling(p: Pair, sell: int) -> Amounts:
    fee = _fee(sell, p.spread)
    with localcontext() as ctx:
        ctx.prec = 40
        buy = int((Decimal(sell - fee) * _scale(p)).to_integral_value(ROUND_FLOOR))
    if buy <= 0 or fee >= sell:
        raise ExchangeTooSmall()
    return Amounts(sell, fee, buy)


def amounts_buying(p: Pair, buy: int) -> Amounts:
    with localcontext() as ctx:
        ctx.prec = 40
        net = int((Decimal(buy) / _scale(p)).to_integral_value(ROUND_CEILING))
        sell = int((Decimal(net) / (1 - p.spread / 100)).to_integral_value(ROUND_CEILING))
    sell = max(sell, net + (1 if p.spread else 0))
    while sell - _fee(sell, p.spread) < net:
        sell += 1
    while sell - 1 - _fee(sell - 1, p.spread) >= net and sell - 1 > 0:
        sell -= 1
    fee = _fee(sell, p.spread)
    if buy <= 0 or fee >= sell:
        raise ExchangeTooSmall()
    return Amounts(sell, fee, buy)


# -- quote ---------------------------------------------------------------------------------------
async def quote(
    session: Any, settings: Any, user: User, *, sell: str, buy: str, amount: Money, side: str
) -> FxQuote:
    """A quote for selling ``amount`` (side "sell", in the ``sell`` currency) or for getting
    ``amount`` (side "buy", in the ``buy`` currency). Refused when the wallet cannot pay it now
    (the confirmation checks again)."""
    sell, buy = (sell or "").strip().upper(), (buy or "").strip().upper()
    if sell == buy:
        raise SameCurrency()
    # Money may go into an offered currency only; out of any wallet the user holds (a currency
    # the operator closed can still be exchanged away).
    await require_offered(session, settings, buy)
    if sell not in CURRENCIES:
        raise CurrencyNotOffered(currency=sell)
    p = await pair(session, settings, sell, buy)
    if side == "buy":
        if amount.currency != buy:
            raise CurrencyNotOffered(currency=amount.currency)
        a = amounts_buying(p, amount.minor)
    else:
        if amount.currency != sell:
            raise CurrencyNotOffered(currency=amount.currency)
        a = amounts_selling(p, amount.minor)
    if await available(session, user.id, sell) < a.sell:
        raise InsufficientFunds()
    now = clock_of(session).now()
    row = FxQuote(
        id=uuid7(),
        user_id=user.id,
        sell_currency=sell,
        sell_amount=a.sell,
        fee=a.fee,
        buy_currency=buy,
        buy_amount=a.buy,
        rate=p.rate.quantize(Decimal("1e-12")),
        spread=p.spread,
        source=p.source[:64],
        status="open",
        created_at=now,
        expires_at=now + timedelta(seconds=settings.payments.fx.quote_ttl_s),
    )
    session.add(row)
    await session.flush()
    return row


async def get_quote(session: Any, user: User, quote_id: str | uuid.UUID) -> FxQuote:
    try:
        qid = quote_id if isinstance(quote_id, uuid.UUID) else uuid.UUID(str(quote_id))
    except ValueError:
        raise QuoteNotFound() from None
    row = await session.get(FxQuote, qid)
    if row is None or row.user_id != user.id:
        raise QuoteNotFound()
    return row


def rate_shown(sell: str, buy: str, rate: Decimal) -> tuple[str, str, str]:
    """The rate as people read it: one unit of the dearer currency in the cheaper one, to six
    decimals ("1 USDT = 7.105 CNY", not "1 CNY = 0.140745953554 USDT")."""
    if rate >= 1:
        base, quote, value = sell, buy, rate
    else:
        with localcontext() as ctx:
            ctx.prec = 40
            base, quote, value = buy, sell, 1 / rate
    shown = value.quantize(Decimal("0.000001"), ROUND_HALF_UP).normalize()
    return base, format(shown, "f"), quote


def seconds_left(q: FxQuote, now: datetime) -> int:
    return max(0, math.ceil((q.expires_at - now).total_seconds()))


# -- confirm -------------------------------------------------------------------------------------
async def confirm(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    quote_id: str | uuid.UUID,
    pin: str,
    key: str,
) -> ExchangeDone:
    """Book the quoted exchange: the PIN first (a wrong try counts), then the quote (yours,
    open, not expired; a replay of the same key returns the first result), the limits, and one
    ledger entry. A refusal changes no balance and leaves the quote open until it expires."""
    check_key(key)
    found = await get_quote(session, user, quote_id)  # not found: before the PIN try counts
    await identity_pin.verify_pin_in_transaction(session, ctx, user, pin)
    q = (
        await session.execute(select(FxQuote).where(FxQuote.id == found.id).with_for_update())
    ).scalar_one()
    await session.refresh(q)
    if q.status == "used":
        if q.idempotency_key == key:
            row = await session.get(WalletTransaction, q.transaction_id)
            assert q.entry_id is not None
            assert row is not None
            return ExchangeDone(q, row.id, row.reference, q.entry_id, replayed=True)
        raise QuoteUsed()
    now = clock_of(session).now()
    if now >= q.expires_at:
        raise QuoteExpired()
    sold = Money(q.sell_amount, q.sell_currency)
    await limits.enforce(session, user, "exchange", sold)
    user_sell, user_buy = await wallet_accounts(
        session, [(user.id, q.sell_currency), (user.id, q.buy_currency)]
    )
    ledger = await Ledger.of_session(session)
    fx_sell = await system_account_id(ledger.conn, "fx", q.sell_currency)
    fx_buy = await system_account_id(ledger.conn, "fx", q.buy_currency)
    legs = [Leg(user_sell.id, -q.sell_amount, q.sell_currency)]
    if q.fee:
        fee_account = await system_account_id(ledger.conn, "fee_revenue", q.sell_currency)
        legs.append(Leg(fee_account, q.fee, q.sell_currency))
    legs += [
        Leg(fx_sell, q.sell_amount - q.fee, q.sell_currency),
        Leg(fx_buy, -q.buy_amount, q.buy_currency),
        Leg(user_buy.id, q.buy_amount, q.buy_currency),
    ]
    entry = await ledger.post(
        PostEntry(
            key=f"fx:{user.id}:{q.id}",
            legs=tuple(legs),
            entry_type="fx_exchange",
            metadata={"user": str(user.id), "quote": str(q.id), "rate": str(q.rate)},
        )
    )
    balance = {p.account_id: p.balance_after for p in entry.postings}
    reference = new_reference(now)
    details = {
        "quote_id": str(q.id),
        "sell_currency": q.sell_currency,
        "sell_amount": sold.to_decimal_string(),
        "buy_currency": q.buy_currency,
        "buy_amount": Money(q.buy_amount, q.buy_currency).to_decimal_string(),
        "rate": format(q.rate.normalize(), "f"),
        "rate_text": "1 {} = {} {}".format(*rate_shown(q.sell_currency, q.buy_currency, q.rate)),
        "spread": format(q.spread.normalize(), "f"),
        "spread_fee": Money(q.fee, q.sell_currency).text(),
    }
    out_row = WalletTransaction(
        id=uuid7(),
        user_id=user.id,
        account_id=user_sell.id,
        kind="exchange",
        direction="out",
        status="completed",
        currency=q.sell_currency,
        # What left the wallet, the spread included (as the customer sees it on the quote);
        # ``fee`` names the spread's part of it (the statement and the spending insights read it).
        amount=q.sell_amount,
        fee=q.fee,
        balance_after=balance.get(user_sell.id),
        reference=reference,
        entry_id=entry.entry_id,
        details=details,
        created_at=now,
        listed_at=now,
    )
    in_row = WalletTransaction(
        id=uuid7(),
        user_id=user.id,
        account_id=user_buy.id,
        kind="exchange",
        direction="in",
        status="completed",
        currency=q.buy_currency,
        amount=q.buy_amount,
        fee=0,
        balance_after=balance.get(user_buy.id),
        reference=reference + "X",
        entry_id=entry.entry_id,
        details=details,
        created_at=now,
        listed_at=now,
    )
    session.add_all([out_row, in_row])
    await session.flush()
    await session.execute(
        update(FxQuote)
        .where(FxQuote.id == q.id)
        .values(
            status="used",
            used_at=now,
            idempotency_key=key,
            entry_id=entry.entry_id,
            transaction_id=out_row.id,
        )
    )
    await session.refresh(q)
    return ExchangeDone(q, out_row.id, reference, entry.entry_id, replayed=False)
