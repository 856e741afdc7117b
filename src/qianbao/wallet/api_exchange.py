"""The currencies API (B12): which currencies a customer may hold, opening a wallet in one, the
rates in force, and exchange between the customer's wallets — a quote, then its confirmation
with the PIN and an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, identity_ctx, require_ready_caller
from qianbao.kernel.clock import clock_of
from qianbao.kernel.http import TxRoute, db_session_dep, settings_of
from qianbao.kernel.money import CURRENCIES, Money
from qianbao.moneyconf import rates as fx_rates
from qianbao.wallet import accounts, exchange
from qianbao.wallet.api import CurrencyIn, MoneyOut, money
from qianbao.wallet.errors import IdempotencyKeyMissing
from qianbao.wallet.models_fx import FxQuote

router = APIRouter(prefix="/api/v1/wallet", tags=["currencies"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


class CurrencyOut(BaseModel):
    currency: str
    decimals: int
    open: bool = Field(description="The customer has a wallet in it")
    available: MoneyOut | None


class OpenIn(BaseModel):
    currency: CurrencyIn


class RateOut(BaseModel):
    currency: str
    cny_per_unit: str = Field(description="Mid rate: CNY for one unit")
    spread_percent: str
    source: str = Field(description="table (set by the operator) or the rate provider's name")


class QuoteIn(BaseModel):
    sell: CurrencyIn = Field(description="The currency to sell (pay with)")
    buy: CurrencyIn = Field(description="The currency to get")
    amount: str = Field(max_length=32, examples=["100.00"])
    side: Literal["sell", "buy"] = Field(
        default="sell",
        description="sell: ``amount`` is what you sell (in ``sell``); buy: what you get "
        "(in ``buy``)",
    )


class QuoteOut(BaseModel):
    id: str
    sell: MoneyOut = Field(description="Leaves the sold wallet, the fee included")
    fee: MoneyOut = Field(description="The spread, in the sold currency")
    buy: MoneyOut = Field(description="Arrives in the bought wallet")
    rate: str = Field(description="Units bought for one unit sold, before the spread")
    spread_percent: str
    expires_at: datetime
    expires_in_s: int
    status: Literal["open", "used"]


class ConfirmIn(BaseModel):
    quote_id: str = Field(max_length=64)
    pin: str = Field(max_length=32)


class ExchangeOut(BaseModel):
    reference: str
    quote: QuoteOut
    replayed: bool


def quote_out(q: FxQuote, now: datetime) -> QuoteOut:
    return QuoteOut(
        id=str(q.id),
        sell=money(q.sell_amount, q.sell_currency),
        fee=money(q.fee, q.sell_currency),
        buy=money(q.buy_amount, q.buy_currency),
        rate=format(q.rate.normalize(), "f"),
        spread_percent=format(q.spread.normalize(), "f"),
        expires_at=q.expires_at,
        expires_in_s=exchange.seconds_left(q, now),
        status=q.status,
    )


@router.get(
    "/currencies",
    response_model=list[CurrencyOut],
    summary="The currencies you may hold, and which wallets you have open",
)
async def currencies(request: Request, s: DbSession, caller: Me) -> list[CurrencyOut]:
    held = {b.currency: b for b in await accounts.balances(s, caller.user.id)}
    out = []
    for code in await exchange.offered(s, settings_of(request)):
        b = held.get(code)
        out.append(
            CurrencyOut(
                currency=code,
                decimals=CURRENCIES[code].exponent,
                open=b is not None,
                available=money(b.available, code) if b is not None else None,
            )
        )
    return out


@router.post(
    "/currencies",
    response_model=list[CurrencyOut],
    status_code=201,
    summary="Open a wallet in a currency (wallet.currency_not_offered when it is not offered)",
)
async def open_currency(
    body: OpenIn, request: Request, s: DbSession, caller: Me
) -> list[CurrencyOut]:
    await exchange.open_wallet(s, settings_of(request), caller.user, body.currency)
    return await currencies(request, s, caller)


@router.get("/exchange/rates", response_model=list[RateOut], summary="The exchange rates now")
async def rates(request: Request, s: DbSession, caller: Me) -> list[RateOut]:
    out = []
    for code in await exchange.offered(s, settings_of(request)):
        r = await fx_rates.rate(s, settings_of(request), code)
        if r is None or code == fx_rates.BASE:
            continue
        out.append(
            RateOut(
                currency=code,
                cny_per_unit=format(r.per_cny.normalize(), "f"),
                spread_percent=format(r.spread.normalize(), "f"),
                source=r.source,
            )
        )
    return out


@router.post(
    "/exchange/quotes",
    response_model=QuoteOut,
    status_code=201,
    summary="A quote: the rate, the spread and both amounts, for a few seconds",
)
async def new_quote(body: QuoteIn, request: Request, s: DbSession, caller: Me) -> QuoteOut:
    """Errors: `money.*` (an amount with more decimals than the currency has, …),
    `fx.same_currency`, `wallet.currency_not_offered`, `fx.rate_unavailable`,
    `fx.amount_too_small`, `ledger.insufficient_funds`."""
    code = (body.buy if body.side == "buy" else body.sell).strip().upper()
    amount = Money.parse(body.amount, code, allow_zero=False)
    q = await exchange.quote(
        s,
        settings_of(request),
        caller.user,
        sell=body.sell,
        buy=body.buy,
        amount=amount,
        side=body.side,
    )
    return quote_out(q, clock_of(s).now())


@router.get("/exchange/quotes/{quote_id}", response_model=QuoteOut, summary="One of your quotes")
async def get_quote(quote_id: str, s: DbSession, caller: Me) -> QuoteOut:
    q = await exchange.get_quote(s, caller.user, quote_id)
    return quote_out(q, clock_of(s).now())


@router.post(
    "/exchange",
    response_model=ExchangeOut,
    status_code=201,
    summary="Exchange at a quote (PIN; Idempotency-Key)",
)
async def confirm(
    body: ConfirmIn,
    request: Request,
    s: DbSession,
    caller: Me,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ExchangeOut:
    """Errors: `fx.quote_not_found`, `fx.quote_expired`, `fx.quote_used` (another key),
    `identity.pin_*`, `risk.limit_exceeded`, `ledger.insufficient_funds`,
    `ledger.account_frozen`. A replay with the same key returns the first result."""
    if not idempotency_key:
        raise IdempotencyKeyMissing()
    done = await exchange.confirm(
        s,
        identity_ctx(request),
        caller.user,
        quote_id=body.quote_id,
        pin=body.pin,
        key=idempotency_key,
    )
    return ExchangeOut(
        reference=done.reference,
        quote=quote_out(done.quote, clock_of(s).now()),
        replayed=done.replayed,
    )
