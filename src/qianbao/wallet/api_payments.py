"""Top-ups and withdrawals in the JSON API (B2, B10), and the card acquirer's callback.

Money-moving writes take an ``Idempotency-Key`` header; a replay with the same body returns the
first result, another body under the same key is refused (``idempotency.key_reused``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, client_ip, identity_ctx, require_ready_caller
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import NotFound
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of, site_of
from qianbao.kernel.money import Money
from qianbao.kernel.translations import gettext
from qianbao.rails import factory as rails
from qianbao.rails.sandbox import local_path
from qianbao.wallet import topup, withdraw
from qianbao.wallet.api import CurrencyIn, LimitOut, MoneyOut, money
from qianbao.wallet.banks import mask
from qianbao.wallet.errors import IdempotencyKeyMissing, TopupMethodUnavailable
from qianbao.wallet.models import Topup, Withdrawal, WithdrawalEvent

router = APIRouter(prefix="/api/v1/wallet", tags=["top-ups and withdrawals"], route_class=TxRoute)
callbacks = APIRouter(prefix="/api/v1/payments", tags=["provider callbacks"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


class TopupIn(BaseModel):
    method: Literal["card", "alipay", "wechatpay"] = Field(
        default="card", description="One of GET /topup-methods"
    )
    card_id: str | None = Field(
        default=None, max_length=64, description="One of my bound cards (method card)"
    )
    amount: str = Field(max_length=32, examples=["100.00"])
    currency: CurrencyIn
    pin: str = Field(max_length=12)


class TopupOut(BaseModel):
    id: str
    method: str = Field(description="card, alipay or wechatpay")
    status: str = Field(description="pending, succeeded or failed")
    failure: str | None = Field(
        description="declined, insufficient_funds, cancelled, expired or account_frozen"
    )
    amount: MoneyOut = Field(description="What arrives in the wallet")
    fee: MoneyOut = Field(description="The method's fee, paid on top of the amount")
    total: MoneyOut = Field(description="Amount + fee: what the provider collects")
    transaction_id: str
    confirmation_url: str | None = Field(
        description="Open this page (the provider's hosted step) to confirm the payment. The "
        "sandbox's page is on this site: its URL is built on the origin of your request."
    )
    created_at: datetime
    completed_at: datetime | None
    replayed: bool = False


def confirmation_url(t: Topup, site: str) -> str | None:
    """The hosted step, absolute for API clients. A page on this site (the sandbox's, stored as
    a path; older rows kept an absolute URL of whatever the setting was then) is put on
    ``site``; an outside provider's URL is kept as it is."""
    if t.status != "pending" or not t.confirmation_url:
        return None
    if t.provider == "sandbox" or t.confirmation_url.startswith("/"):
        return f"{site}{local_path(t.confirmation_url)}"
    return t.confirmation_url


def topup_out(t: Topup, site: str, replayed: bool = False) -> TopupOut:
    return TopupOut(
        id=str(t.id),
        method=t.method,
        status=t.status,
        failure=t.failure,
        amount=money(t.amount, t.currency),
        fee=money(t.fee, t.currency),
        total=money(t.amount + t.fee, t.currency),
        transaction_id=str(t.transaction_id),
        confirmation_url=confirmation_url(t, site),
        created_at=t.created_at,
        completed_at=t.completed_at,
        replayed=replayed,
    )


@router.post(
    "/topups",
    response_model=TopupOut,
    status_code=201,
    summary="Top up from a bound card, or by Alipay or WeChat Pay where offered (PIN); then "
    "pay at confirmation_url",
)
async def create_topup(
    body: TopupIn, request: Request, s: DbSession, caller: Me, idempotency_key: IdemKey = None
) -> TopupOut:
    if not idempotency_key:
        raise IdempotencyKeyMissing()
    amount = Money.parse(body.amount, body.currency, allow_zero=False)
    site = site_of(request)
    acquirer = rails.acquirers_of(request).for_method(body.method)
    if acquirer is None:
        raise TopupMethodUnavailable()
    done, replayed = await topup.start(
        s,
        identity_ctx(request),
        acquirer,
        caller.user,
        card_id=body.card_id,
        amount=amount,
        pin=body.pin,
        key=idempotency_key,
        site=site,
        method=body.method,
        client_ip=client_ip(request),
    )
    return topup_out(done, site, replayed)


@router.get("/topups/{topup_id}", response_model=TopupOut, summary="One of my top-ups")
async def get_topup(topup_id: str, request: Request, s: DbSession, caller: Me) -> TopupOut:
    return topup_out(await topup.get(s, caller.user.id, topup_id), site_of(request))


@callbacks.post(
    "/{provider}/notify",
    status_code=204,
    summary="The card acquirer's signed callback (sandbox: Sandbox-Signature; stripe: "
    "Stripe-Signature)",
)
async def provider_notify(provider: str, request: Request, s: DbSession) -> Response:
    acquirer = rails.acquirers_of(request).for_method("card")
    if acquirer is None or provider != acquirer.name:
        raise NotFound()
    event = acquirer.parse_callback(request.headers, await request.body(), clock_of(s).now())
    if event is not None:
        await topup.settle(s, acquirer.name, event)
    return Response(status_code=204)


class QuoteIn(BaseModel):
    card_id: str = Field(max_length=64)
    amount: str = Field(max_length=32, examples=["500.00"])
    currency: CurrencyIn


class QuoteOut(BaseModel):
    card: str
    bank_name: str
    amount: MoneyOut
    fee: MoneyOut
    total: MoneyOut = Field(description="Amount + fee: what leaves the wallet")
    expected_arrival: date
    needs_review: bool
    limits: LimitOut


class WithdrawalIn(QuoteIn):
    pin: str = Field(max_length=12)
    code: str | None = Field(
        default=None, max_length=12, description="SMS code from POST /withdrawals/code"
    )
    authenticator_code: str | None = Field(
        default=None,
        max_length=32,
        description="Instead of `code`, when no SMS can be had: a code from the user's "
        "authenticator app (or a recovery code). Ten wrong second-factor codes lock it for "
        "30 minutes.",
    )


class StepOut(BaseModel):
    status: str
    note: str | None
    at: datetime


class WithdrawalOut(BaseModel):
    id: str
    status: str = Field(
        description="in_review, approved, submitted, settled, failed, rejected or returned"
    )
    card: str
    amount: MoneyOut
    fee: MoneyOut
    expected_arrival: date
    transaction_id: str
    created_at: datetime
    timeline: list[StepOut]
    replayed: bool = False


def quote_limits(q: withdraw.Quote) -> LimitOut:
    cur = q.amount.currency
    return LimitOut(
        channel="withdrawal",
        single_max=money(q.limit.single_max, cur),
        daily_max=money(q.limit.daily_max, cur),
        daily_count=q.limit.daily_count,
        monthly_max=money(q.limit.monthly_max, cur),
        monthly_count=q.limit.monthly_count,
        remaining_today=money(q.decision.remaining_today, cur),
        remaining_this_month=money(q.decision.remaining_this_month, cur),
    )


async def withdrawal_out(
    s: Any, w: Withdrawal, locale: str, replayed: bool = False
) -> WithdrawalOut:
    from qianbao.wallet.models import BankCard

    card = await s.get(BankCard, w.card_id)
    steps: list[WithdrawalEvent] = await withdraw.timeline(s, w.id)
    return WithdrawalOut(
        id=str(w.id),
        status=w.status,
        card=mask(card.last4) if card else "",
        amount=money(w.amount, w.currency),
        fee=money(w.fee, w.currency),
        expected_arrival=w.expected_on,
        transaction_id=str(w.transaction_id),
        created_at=w.created_at,
        timeline=[
            StepOut(
                status=e.status, note=gettext(locale, e.note) if e.note else None, at=e.created_at
            )
            for e in steps
        ],
        replayed=replayed,
    )


@router.post(
    "/withdrawals/quote",
    response_model=QuoteOut,
    summary="Fee, total, expected arrival and limits before confirming a withdrawal",
)
async def quote(body: QuoteIn, request: Request, s: DbSession, caller: Me) -> QuoteOut:
    amount = Money.parse(body.amount, body.currency, allow_zero=False)
    q = await withdraw.quote(
        s, identity_ctx(request), caller.user, card_id=body.card_id, amount=amount
    )
    cur = amount.currency
    return QuoteOut(
        card=mask(q.card.last4),
        bank_name=gettext(locale_of(request), q.card.bank_name),
        amount=money(amount.minor, cur),
        fee=money(q.fee, cur),
        total=money(q.total, cur),
        expected_arrival=q.expected_on,
        needs_review=q.needs_review,
        limits=quote_limits(q),
    )


@router.post(
    "/withdrawals/code",
    status_code=202,
    summary="Send the SMS code for a withdrawal (the code works for this amount and card only)",
)
async def withdrawal_code(
    body: QuoteIn, request: Request, s: DbSession, caller: Me
) -> dict[str, str]:
    amount = Money.parse(body.amount, body.currency, allow_zero=False)
    await withdraw.request_code(
        s,
        identity_ctx(request),
        caller.user,
        card_id=body.card_id,
        amount=amount,
        ip=client_ip(request),
    )
    return {"status": "sent"}


@router.post(
    "/withdrawals",
    response_model=WithdrawalOut,
    status_code=201,
    summary="Withdraw to a bound card or account (PIN + SMS code)",
)
async def create_withdrawal(
    body: WithdrawalIn,
    request: Request,
    s: DbSession,
    caller: Me,
    idempotency_key: IdemKey = None,
) -> WithdrawalOut:
    if not idempotency_key:
        raise IdempotencyKeyMissing()
    amount = Money.parse(body.amount, body.currency, allow_zero=False)
    w, replayed = await withdraw.request(
        s,
        identity_ctx(request),
        caller.user,
        card_id=body.card_id,
        amount=amount,
        pin=body.pin,
        code=body.code,
        key=idempotency_key,
        authenticator_code=body.authenticator_code,
        device_id=caller.session.device_id,
    )
    return await withdrawal_out(s, w, locale_of(request), replayed)


@router.get(
    "/withdrawals/{withdrawal_id}",
    response_model=WithdrawalOut,
    summary="One of my withdrawals, with its timeline",
)
async def get_withdrawal(
    withdrawal_id: str, request: Request, s: DbSession, caller: Me
) -> WithdrawalOut:
    w = await withdraw.get(s, caller.user.id, withdrawal_id)
    return await withdrawal_out(s, w, locale_of(request))
