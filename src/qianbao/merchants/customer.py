"""The customer's side of paying a shop: a checkout session on the hosted page (or behind a
dynamic QR), and the shop's static QR (the customer types the amount)."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.money import Money
from qianbao.ledger.commands import check_key
from qianbao.merchants import checkout
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import CheckoutSession
from qianbao.merchants.pay import Order, Paid, customer_key, get_payment, pay
from qianbao.merchants.payment_risk import step_up_bound
from qianbao.wallet import step_up
from qianbao.wallet.step_up import Proof


async def pay_checkout(
    session: Any,
    ctx: IdentityContext,
    customer: User,
    session_id: str,
    *,
    pin: str,
    promo_code: str | None = None,
    device_id: uuid.UUID | None = None,
    proof: Proof | None = None,
) -> tuple[Paid, CheckoutSession]:
    """Pay an open session. The session's row is locked first, so of two customers paying it
    at the same instant one pays and the other is told it is already paid; the same customer
    sending the form twice gets the first payment back."""
    row, merchant = await checkout.lock_session_with_merchant(session, session_id)
    if row.status == "paid" and row.payment_id is not None:
        payment = await get_payment(session, row.payment_id)
        if payment.customer_id == customer.id:
            return Paid(payment, replayed=True), row
    checkout.ensure_payable(row, clock_of(session).now())
    order = Order(
        method=row.method,
        amount=Money(row.amount, row.currency),
        order_reference=row.order_reference,
        description=row.description,
        checkout=row,
    )
    key = customer_key(customer.id, f"checkout:{row.id}")
    done = await pay(
        session, ctx, customer, merchant, order, key=key, pin=pin, promo_code=promo_code,
        device_id=device_id, proof=proof,
    )  # fmt: skip
    return done, row


async def pay_shop(
    session: Any,
    ctx: IdentityContext,
    customer: User,
    merchant: Merchant,
    *,
    amount: Money,
    note: str | None,
    pin: str,
    key: str,
    promo_code: str | None = None,
    device_id: uuid.UUID | None = None,
    proof: Proof | None = None,
) -> Paid:
    """Pay a shop by its static QR code: the customer says how much."""
    check_key(key)
    order = Order(method="qr", amount=amount, description=checkout.description(note))
    return await pay(
        session, ctx, customer, merchant, order, key=customer_key(customer.id, key), pin=pin,
        promo_code=promo_code, device_id=device_id, proof=proof,
    )  # fmt: skip


async def send_step_up_code(
    session: Any,
    ctx: IdentityContext,
    customer: User,
    merchant: Merchant,
    *,
    amount: Money,
    ip: str | None,
) -> None:
    """The SMS code for a payment the risk rules want confirmed: it names the price and the
    shop, and works only for them."""
    await step_up.send_code(
        session,
        ctx,
        customer,
        bound=step_up_bound(merchant.id, amount),
        amount=amount,
        payee_label=merchant.name(customer.locale),
        ip=ip,
    )


async def step_up_passkey_options(
    session: Any, ctx: IdentityContext, customer: User, merchant: Merchant, *, amount: Money
) -> dict[str, Any]:
    """WebAuthn options whose challenge carries the price and the shop."""
    return await step_up.passkey_options(
        session, ctx, customer, bound=step_up_bound(merchant.id, amount)
    )
