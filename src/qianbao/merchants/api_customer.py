"""The customer's merchant API (``/api/v1/pay``, signed in as a wallet user): see what a
checkout session or a shop's QR asks for, pay it with the PIN, show a payment code, confirm or
decline a till's charge, read a receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, client_ip, identity_ctx, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of
from qianbao.kernel.money import Money
from qianbao.kernel.translations import gettext
from qianbao.merchants import checkout, customer, onboarding, payment_codes, promo
from qianbao.merchants.accounts import CURRENCY
from qianbao.merchants.categories import category_name
from qianbao.merchants.models import Merchant
from qianbao.merchants.pay import get_payment
from qianbao.merchants.schemas import Amount, PaymentOut, amount, payment_out
from qianbao.wallet.api import PasskeyOptionsOut, PasskeyProof
from qianbao.wallet.errors import IdempotencyKeyMissing
from qianbao.wallet.step_up import Proof

router = APIRouter(prefix="/api/v1/pay", tags=["paying shops"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


class ShopOut(BaseModel):
    code: str
    name: str = Field(description="The merchant's verified name, in your language")
    category: str
    category_name: str
    active: bool


def shop_out(request: Request, m: Merchant) -> ShopOut:
    locale = locale_of(request)
    return ShopOut(
        code=m.code,
        name=m.name(locale),
        category=m.category,
        category_name=gettext(locale, category_name(m.category)),
        active=m.status == "active",
    )


class CheckoutView(BaseModel):
    id: str
    status: str
    shop: ShopOut
    amount: Amount
    order_reference: str
    description: str | None
    expires_at: datetime
    cancel_url: str | None


@router.get(
    "/checkout-sessions/{session_id}",
    response_model=CheckoutView,
    summary="What a checkout session asks",
)
async def view_checkout(
    session_id: str, request: Request, s: DbSession, caller: Me
) -> CheckoutView:
    row = await checkout.get_session(s, session_id)
    merchant = await onboarding.get(s, row.merchant_id)
    return CheckoutView(
        id=str(row.id),
        status=checkout.effective_status(row, request.app.state.clock.now()),
        shop=shop_out(request, merchant),
        amount=amount(row.amount, row.currency),
        order_reference=row.order_reference,
        description=row.description,
        expires_at=row.expires_at,
        cancel_url=row.cancel_url,
    )


class StepUpFields(BaseModel):
    """Sent again with the same request when the answer was 403 `risk.step_up_required`."""

    step_up_code: str | None = Field(
        default=None,
        max_length=12,
        description="The SMS code from POST /api/v1/pay/step-up-code (it names the price and the "
        "shop, and works only for them)",
    )
    step_up_passkey: PasskeyProof | None = Field(
        default=None,
        description="Instead of the code: a passkey's answer to the challenge from "
        "POST /api/v1/pay/step-up-passkey",
    )

    def proof(self) -> Proof:
        return Proof.of(
            self.step_up_code,
            self.step_up_passkey.model_dump() if self.step_up_passkey else None,
        )


class PayIn(StepUpFields):
    pin: str = Field(max_length=12)
    promo_code: str | None = Field(default=None, max_length=40)


class StepUpIn(BaseModel):
    shop: str = Field(max_length=16, description="The shop's code")
    amount: str = Field(
        max_length=32, description="The price (a checkout's amount, before any promo code)"
    )
    currency: str = Field(default=CURRENCY, max_length=8)


@router.post(
    "/step-up-code",
    status_code=202,
    summary="Send the SMS code a payment needs (risk.step_up_required)",
)
async def step_up_code(
    body: StepUpIn, request: Request, s: DbSession, caller: Me
) -> dict[str, bool]:
    merchant = await onboarding.by_code(s, body.shop)
    await customer.send_step_up_code(
        s,
        identity_ctx(request),
        caller.user,
        merchant,
        amount=Money.parse(body.amount, body.currency, allow_zero=False),
        ip=client_ip(request),
    )
    return {"sent": True}


@router.post(
    "/step-up-passkey",
    response_model=PasskeyOptionsOut,
    summary="WebAuthn options to confirm a payment with a passkey (the challenge carries the "
    "price and the shop)",
)
async def step_up_passkey(
    body: StepUpIn, request: Request, s: DbSession, caller: Me
) -> PasskeyOptionsOut:
    merchant = await onboarding.by_code(s, body.shop)
    options = await customer.step_up_passkey_options(
        s,
        identity_ctx(request),
        caller.user,
        merchant,
        amount=Money.parse(body.amount, body.currency, allow_zero=False),
    )
    return PasskeyOptionsOut(**options)


class PaidOut(BaseModel):
    payment: PaymentOut
    return_url: str | None = Field(description="Back to the shop (with session_id)")
    replayed: bool


def return_url(row: Any) -> str | None:
    if not row.success_url:
        return None
    glue = "&" if "?" in row.success_url else "?"
    return f"{row.success_url}{glue}session_id={row.id}"


@router.post(
    "/checkout-sessions/{session_id}/pay", response_model=PaidOut, summary="Pay a checkout session"
)
async def pay_checkout(
    session_id: str, body: PayIn, request: Request, s: DbSession, caller: Me
) -> PaidOut:
    done, row = await customer.pay_checkout(
        s,
        identity_ctx(request),
        caller.user,
        session_id,
        pin=body.pin,
        promo_code=body.promo_code or None,
        device_id=caller.session.device_id,
        proof=body.proof(),
    )
    return PaidOut(
        payment=payment_out(done.payment), return_url=return_url(row), replayed=done.replayed
    )


class PromoIn(BaseModel):
    code: str = Field(max_length=40)
    amount: str = Field(max_length=32)
    currency: str = Field(default=CURRENCY, max_length=8)
    shop: str = Field(max_length=16, description="The shop's code")


class PromoOut(BaseModel):
    code: str
    discount: Amount
    you_pay: Amount


@router.post(
    "/promo-check", response_model=PromoOut, summary="What a promo code takes off an order"
)
async def promo_check(body: PromoIn, s: DbSession, caller: Me) -> PromoOut:
    merchant = await onboarding.by_code(s, body.shop)
    value = Money.parse(body.amount, body.currency, allow_zero=False)
    code, discount = await promo.check(
        s,
        body.code,
        user_id=caller.user.id,
        merchant_id=merchant.id,
        amount=value.minor,
        currency=value.currency,
    )
    return PromoOut(
        code=code.code,
        discount=amount(discount, value.currency),
        you_pay=amount(value.minor - discount, value.currency),
    )


@router.get("/shops/{code}", response_model=ShopOut, summary="The shop behind a static QR code")
async def shop(code: str, request: Request, s: DbSession, caller: Me) -> ShopOut:
    return shop_out(request, await onboarding.by_code(s, code))


class ShopPayIn(PayIn):
    amount: str = Field(max_length=32)
    currency: str = Field(max_length=8, examples=["CNY"])
    note: str | None = Field(default=None, max_length=200)


@router.post(
    "/shops/{code}/pay",
    response_model=PaidOut,
    status_code=201,
    summary="Pay a shop (its static QR)",
)
async def pay_shop(
    code: str,
    body: ShopPayIn,
    request: Request,
    s: DbSession,
    caller: Me,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> PaidOut:
    if not idempotency_key:
        raise IdempotencyKeyMissing()
    merchant = await onboarding.by_code(s, code)
    done = await customer.pay_shop(
        s,
        identity_ctx(request),
        caller.user,
        merchant,
        amount=Money.parse(body.amount, body.currency, allow_zero=False),
        note=body.note,
        pin=body.pin,
        key=idempotency_key,
        promo_code=body.promo_code or None,
        device_id=caller.session.device_id,
        proof=body.proof(),
    )
    return PaidOut(payment=payment_out(done.payment), return_url=None, replayed=done.replayed)


class CodeOut(BaseModel):
    code: str = Field(description="18 digits, for the barcode and the QR code; works once")
    expires_at: datetime
    no_pin_limit: Amount


@router.post(
    "/payment-codes", response_model=CodeOut, status_code=201, summary="A new payment code"
)
async def new_code(request: Request, s: DbSession, caller: Me) -> CodeOut:
    ctx = identity_ctx(request)
    issued = await payment_codes.issue(s, ctx, caller.user)
    limit = await payment_codes.no_pin_limit(s, ctx, caller.user.id)
    return CodeOut(
        code=issued.code, expires_at=issued.expires_at, no_pin_limit=amount(limit, CURRENCY)
    )


class LimitIn(BaseModel):
    no_pin_limit: str = Field(
        max_length=32, description="Till payments up to this go through without the PIN"
    )
    pin: str = Field(max_length=12, description="The payment PIN: required to change the limit")


@router.put("/payment-codes/settings", response_model=Amount, summary="Set the limit without PIN")
async def set_limit(body: LimitIn, request: Request, s: DbSession, caller: Me) -> Amount:
    value = Money.parse(body.no_pin_limit, CURRENCY)
    await payment_codes.set_no_pin_limit(s, identity_ctx(request), caller.user, value, pin=body.pin)
    return amount(value.minor, CURRENCY)


class PendingOut(BaseModel):
    payment: PaymentOut
    shop: ShopOut


@router.get(
    "/payment-codes/pending",
    response_model=list[PendingOut],
    summary="Till charges waiting for your PIN",
)
async def pending(request: Request, s: DbSession, caller: Me) -> list[PendingOut]:
    out = []
    for row in await payment_codes.awaiting(s, caller.user):
        merchant = await onboarding.get(s, row.merchant_id)
        out.append(PendingOut(payment=payment_out(row), shop=shop_out(request, merchant)))
    return out


class ConfirmIn(StepUpFields):
    pin: str = Field(max_length=12)


@router.post(
    "/payments/{payment_id}/confirm",
    response_model=PaymentOut,
    summary="Confirm a till charge with the PIN",
)
async def confirm(
    payment_id: str, body: ConfirmIn, request: Request, s: DbSession, caller: Me
) -> PaymentOut:
    done = await payment_codes.confirm(
        s,
        identity_ctx(request),
        caller.user,
        payment_id,
        pin=body.pin,
        device_id=caller.session.device_id,
        proof=body.proof(),
    )
    return payment_out(done.payment)


@router.post(
    "/payments/{payment_id}/decline", response_model=PaymentOut, summary="Decline a till charge"
)
async def decline(payment_id: str, s: DbSession, caller: Me) -> PaymentOut:
    return payment_out(await payment_codes.decline(s, caller.user, payment_id))


class ReceiptOut(BaseModel):
    payment: PaymentOut
    shop: ShopOut


@router.get(
    "/payments/{payment_id}",
    response_model=ReceiptOut,
    summary="The receipt of one of your payments",
)
async def receipt(payment_id: str, request: Request, s: DbSession, caller: Me) -> ReceiptOut:
    row = await get_payment(s, payment_id, customer_id=caller.user.id)
    merchant = await onboarding.get(s, row.merchant_id)
    return ReceiptOut(payment=payment_out(row), shop=shop_out(request, merchant))
