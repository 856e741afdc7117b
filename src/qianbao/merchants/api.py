"""The merchant API (``/api/v1/merchant``): authenticated by a secret API key
(``Authorization: Bearer qb_sk_…``); each key sees only its merchant's objects. Every write that
moves money takes an ``Idempotency-Key``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import identity_ctx
from qianbao.kernel.http import TxRoute, db_session, db_session_dep, settings_of, site_of
from qianbao.kernel.money import Money
from qianbao.merchants import checkout, keys, payment_codes, refunds, settlement
from qianbao.merchants.accounts import balance_of
from qianbao.merchants.models import ApiKey, Merchant
from qianbao.merchants.pay import get_payment, list_payments
from qianbao.merchants.schemas import (
    Amount,
    CheckoutSessionOut,
    PaymentOut,
    RefundOut,
    SettlementOut,
    amount,
    payment_out,
    refund_out,
    session_out,
    settlement_out,
)
from qianbao.wallet.errors import IdempotencyKeyMissing

router = APIRouter(prefix="/api/v1/merchant", tags=["merchant"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


class KeyHolder:
    def __init__(self, key: ApiKey, merchant: Merchant) -> None:
        self.key = key
        self.merchant = merchant


async def _holder(request: Request) -> KeyHolder:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    secret = value.strip() if scheme.lower() == "bearer" else None
    key, merchant = await keys.authenticate(db_session(request), identity_ctx(request), secret)
    return KeyHolder(key, merchant)


def scope(name: str) -> Any:
    async def dependency(request: Request) -> KeyHolder:
        holder = await _holder(request)
        keys.require_scope(holder.key, name)
        return holder

    return Depends(dependency)


Reader = Annotated[KeyHolder, scope("read")]
Payer = Annotated[KeyHolder, scope("payments")]
Refunder = Annotated[KeyHolder, scope("refunds")]


def _need_key(value: str | None) -> str:
    if not value:
        raise IdempotencyKeyMissing()
    return value


class CheckoutSessionIn(BaseModel):
    amount: str = Field(max_length=32, examples=["28.00"])
    currency: str = Field(max_length=8, examples=["CNY"])
    order_reference: str = Field(max_length=64, description="Your order number (paid at most once)")
    description: str | None = Field(default=None, max_length=200)
    success_url: str | None = Field(
        default=None, max_length=2000, description="Where the customer goes after paying; "
        "`session_id=<id>` is added to it"
    )  # fmt: skip
    cancel_url: str | None = Field(default=None, max_length=2000)
    expires_in_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    method: str = Field(
        default="checkout", pattern="^(checkout|qr)$",
        description="checkout (a hosted page) or qr (a dynamic QR code for one order at a till)",
    )  # fmt: skip


@router.post(
    "/checkout-sessions",
    response_model=CheckoutSessionOut,
    status_code=201,
    summary="Ask a customer to pay (a hosted page, or a dynamic QR code)",
)
async def create_checkout_session(
    body: CheckoutSessionIn,
    request: Request,
    s: DbSession,
    me: Payer,
    idempotency_key: IdempotencyKey = None,
) -> CheckoutSessionOut:
    row, _ = await checkout.create_session(
        s,
        settings_of(request),
        me.merchant,
        amount=Money.parse(body.amount, body.currency, allow_zero=False),
        order_ref=body.order_reference,
        desc=body.description,
        success_url=body.success_url,
        cancel_url=body.cancel_url,
        expires_in_minutes=body.expires_in_minutes,
        key=_need_key(idempotency_key),
        method=body.method,
    )
    return _session(request, row)


def _session(request: Request, row: Any) -> CheckoutSessionOut:
    now = request.app.state.clock.now()
    return session_out(row, status=checkout.effective_status(row, now), base=site_of(request))


@router.get(
    "/checkout-sessions/{session_id}",
    response_model=CheckoutSessionOut,
    summary="A checkout session",
)
async def read_checkout_session(
    session_id: str, request: Request, s: DbSession, me: Reader
) -> CheckoutSessionOut:
    return _session(request, await checkout.get_session(s, session_id, merchant_id=me.merchant.id))


@router.post(
    "/checkout-sessions/{session_id}/cancel",
    response_model=CheckoutSessionOut,
    summary="Cancel an open checkout session (it can no longer be paid)",
)
async def cancel_checkout_session(
    session_id: str, request: Request, s: DbSession, me: Payer
) -> CheckoutSessionOut:
    return _session(request, await checkout.cancel_session(s, me.merchant, session_id))


class PaymentWithRefunds(PaymentOut):
    refunds: list[RefundOut]


@router.get("/payments", response_model=list[PaymentOut], summary="Recent payments, newest first")
async def payments(
    s: DbSession,
    me: Reader,
    status: str | None = Query(
        default=None, pattern="^(requires_confirmation|succeeded|cancelled|expired)$"
    ),
    limit: int = Query(default=50, ge=1, le=200),
) -> list[PaymentOut]:
    rows = await list_payments(s, me.merchant.id, status=status, limit=limit)
    return [payment_out(r) for r in rows]


@router.get(
    "/payments/{payment_id}", response_model=PaymentWithRefunds, summary="A payment and its refunds"
)
async def payment(payment_id: str, s: DbSession, me: Reader) -> PaymentWithRefunds:
    row = await get_payment(s, payment_id, merchant_id=me.merchant.id)
    done = [refund_out(r) for r in await refunds.refunds_of(s, row.id)]
    return PaymentWithRefunds(**payment_out(row).model_dump(), refunds=done)


class RefundIn(BaseModel):
    amount: str | None = Field(default=None, max_length=32, description="Omit for all that is left")
    currency: str = Field(default="CNY", max_length=8)
    reason: str | None = Field(default=None, max_length=200)


@router.post(
    "/payments/{payment_id}/refunds",
    response_model=RefundOut,
    status_code=201,
    summary="Refund a payment, fully or in part (from your merchant balance)",
)
async def refund(
    payment_id: str,
    body: RefundIn,
    request: Request,
    s: DbSession,
    me: Refunder,
    idempotency_key: IdempotencyKey = None,
) -> RefundOut:
    value = Money.parse(body.amount, body.currency, allow_zero=False) if body.amount else None
    row, _ = await refunds.refund(
        s,
        identity_ctx(request),
        me.merchant,
        payment_id,
        amount=value,
        reason=body.reason,
        key=_need_key(idempotency_key),
    )
    return refund_out(row)


@router.get("/refunds/{refund_id}", response_model=RefundOut, summary="A refund")
async def read_refund(refund_id: str, s: DbSession, me: Reader) -> RefundOut:
    return refund_out(await refunds.get_refund(s, me.merchant.id, refund_id))


class TillPaymentIn(BaseModel):
    code: str = Field(max_length=32, description="The 18 digits of the customer's payment code")
    amount: str = Field(max_length=32, examples=["18.50"])
    currency: str = Field(max_length=8, examples=["CNY"])
    order_reference: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=200)


@router.post(
    "/payment-code-payments",
    response_model=PaymentOut,
    status_code=201,
    summary="Charge a customer's payment code at the till",
    description="Up to the customer's own limit the payment succeeds at once; above it, its "
    "status is `requires_confirmation` until the customer confirms with the PIN on the phone "
    "(poll `GET /payments/{id}` or wait for the `payment.succeeded` webhook).",
)
async def till_payment(
    body: TillPaymentIn,
    request: Request,
    s: DbSession,
    me: Payer,
    idempotency_key: IdempotencyKey = None,
) -> PaymentOut:
    done = await payment_codes.charge(
        s,
        identity_ctx(request),
        me.merchant,
        code=body.code,
        amount=Money.parse(body.amount, body.currency, allow_zero=False),
        order_reference=checkout.order_reference(body.order_reference)
        if body.order_reference
        else None,
        description=checkout.description(body.description),
        key=_need_key(idempotency_key),
    )
    return payment_out(done.payment)


class BalanceOut(BaseModel):
    available: Amount
    pending: Amount = Field(description="On its way to your bank (a payout in progress)")


@router.get("/balance", response_model=BalanceOut, summary="Your merchant balance")
async def balance(s: DbSession, me: Reader) -> BalanceOut:
    b = await balance_of(s, me.merchant.id)
    return BalanceOut(
        available=amount(b.available, b.currency), pending=amount(b.pending, b.currency)
    )


@router.get(
    "/settlements", response_model=list[SettlementOut], summary="Payouts to your bank account"
)
async def settlements(s: DbSession, me: Reader) -> list[SettlementOut]:
    return [settlement_out(r) for r in await settlement.list_settlements(s, me.merchant.id)]
