"""Paying a merchant: the one place money moves from a customer to a shop, whatever the method
(a checkout session, the shop's static or dynamic QR, the customer's payment code).

In one transaction: the PIN (unless a small payment-code payment the customer allowed without
it), the customer's payment limits, the promo code's budget, one balanced ledger entry —
customer −(price − discount), marketing −discount, merchant +(price − fee), fee revenue +fee —
the payment, the customer's history row, the notification and the merchant's webhook events.
A failure leaves every balance as it was."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import IdempotencyKeyReused
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.kernel.outbox import emit
from qianbao.ledger import Ledger, Leg, PostEntry
from qianbao.ledger.accounts import system_account_id
from qianbao.ledger.errors import AccountFrozen
from qianbao.merchants import events, promo
from qianbao.merchants.accounts import (
    CURRENCY,
    fee_account_id,
    fee_for,
    merchant_account_id,
    shard_of,
)
from qianbao.merchants.errors import CurrencyNotAccepted, MerchantNotActive, OrderAlreadyPaid
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import CheckoutSession, Payment
from qianbao.merchants.payment_risk import judge
from qianbao.wallet import limits, risk_checks, step_up
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.tasks import TRANSACTION_TOPIC
from qianbao.wallet.transfer import new_reference


@dataclass(frozen=True)
class Order:
    """What is being paid for."""

    method: str  # checkout | qr | payment_code
    amount: Money
    order_reference: str | None = None
    description: str | None = None
    checkout: CheckoutSession | None = None
    payer: str = ""  # who pays, when the request names them (a payment code's keyed hash)

    def fingerprint(self) -> str:
        """What an idempotency key's replay must repeat: the same method, amount, order,
        description, session and payer (a till's retry with another customer's code is refused,
        not answered with the first customer's payment)."""
        checkout = str(self.checkout.id) if self.checkout else ""
        amount = f"{self.amount.minor}|{self.amount.currency}"
        raw = "|".join(
            (self.method, amount, str(self.order_reference), str(self.description), checkout,
             self.payer)
        )  # fmt: skip
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Paid:
    payment: Payment
    replayed: bool


def customer_key(customer_id: uuid.UUID, key: str) -> str:
    """A payment's idempotency key when the customer starts it (checkout, shop QR)."""
    return f"c:{customer_id}:{key}"


async def existing(session: Any, merchant_id: uuid.UUID, key: str) -> Payment | None:
    """The payment this idempotency key already made at this merchant (a replay)."""
    return (
        await session.execute(
            select(Payment).where(
                Payment.merchant_id == merchant_id, Payment.idempotency_key == key
            )
        )
    ).scalar_one_or_none()


def ensure_can_pay(merchant: Merchant, customer: User, amount: Money) -> None:
    if merchant.status != "active":
        raise MerchantNotActive()
    if amount.currency != CURRENCY:
        raise CurrencyNotAccepted()
    if customer.frozen_at is not None:
        raise AccountFrozen()


WRITE_PAYMENT_ROWS = """
WITH payment AS (
  INSERT INTO merchant_payments (id, merchant_id, customer_id, method, status, currency, amount,
                                 discount, fee, refunded, refunded_fee, refunded_discount,
                                 order_reference, description, reference, checkout_session_id,
                                 promo_code_id, entry_id, transaction_id, idempotency_key,
                                 fingerprint, created_at, succeeded_at)
  VALUES ($1, $2, $3, $4, 'succeeded', $5, $6, $7, $8, 0, 0, 0, $9, $10, $11, $12, $13, $14, $15,
          $16, $17, $18, $18)
), history AS (
  INSERT INTO wallet_transactions (id, user_id, account_id, kind, direction, currency, amount,
                                   balance_after, counterparty_name, note, reference, entry_id,
                                   details, created_at, listed_at)
  VALUES ($15, $3, $19, 'payment', 'out', $5, $20, $21, $22, $10, $11, $14, $23::jsonb, $18, $18)
), closed AS (
  UPDATE merchant_checkout_sessions SET status = 'paid', payment_id = $1, closed_at = $18
  WHERE id = $12
), decision AS (
  INSERT INTO risk_decisions (id, user_id, channel, currency, amount, counterparty_id, device_id,
                              action, reasons, signals, transaction_id, outcome, created_at)
  SELECT $26, $3, 'payment', $5, $20, $2, $27, $28, $29::varchar[], $30::jsonb, $15, $31, $18
   WHERE $26::uuid IS NOT NULL
)
INSERT INTO outbox_messages (topic, payload) VALUES ($24, $25::jsonb)
"""


async def pay(
    session: Any,
    ctx: IdentityContext,
    customer: User,
    merchant: Merchant,
    order: Order,
    *,
    key: str,
    pin: str | None,
    promo_code: str | None = None,
    payment: Payment | None = None,
    device_id: uuid.UUID | None = None,
    proof: step_up.Proof | None = None,
) -> Paid:
    """Move the money. ``key`` is the payment's idempotency key at this merchant
    (``customer_key`` for what the customer starts, ``till:…`` for a till). ``pin=None`` only
    for a payment-code payment under the customer's own no-PIN limit (the caller decides).
    ``payment`` is a payment-code payment that waited for the PIN: it is completed rather than
    a new one made."""
    if payment is None and order.checkout is None:  # a checkout's replay: its locked row says
        found = await existing(session, merchant.id, key)
        if found is not None and found.customer_id == customer.id:
            if found.fingerprint != order.fingerprint():
                raise IdempotencyKeyReused()
            return Paid(found, replayed=True)
    ensure_can_pay(merchant, customer, order.amount)
    pin_failures = customer.pin_failures  # before this try: a right PIN resets the count
    if pin is not None:
        # Before any lock: a wrong try is counted on the side pool (issue 13, defect 1).
        await identity_pin.verify_pin_in_transaction(session, ctx, customer, pin)
    now = clock_of(session).now()
    payment_id = payment.id if payment is not None else uuid7()
    amount = order.amount.minor
    discount = 0
    promo_id = None
    if promo_code:
        code, discount = await promo.redeem(
            session,
            promo_code,
            user_id=customer.id,
            merchant_id=merchant.id,
            amount=amount,
            currency=order.amount.currency,
            payment_id=payment_id,
        )
        promo_id = code.id
    charged = Money(amount - discount, order.amount.currency)
    risk = ctx.settings.risk
    await limits.enforce(
        session, customer, "payment", charged, velocity=(risk.velocity_max, risk.velocity_window_s)
    )
    assessment, outcome = await judge(
        session,
        ctx,
        customer,
        merchant,
        order,
        charged,
        device_id=device_id,
        pin_failures=pin_failures,
        proof=proof,
        unattended=pin is None,
    )
    fee = fee_for(merchant, order.method, amount, charged.currency)
    source = await wallet_account(session, customer.id, charged.currency)
    shard = shard_of(payment_id)  # a busy shop's payments spread over its accounts
    target_id = await merchant_account_id(session, merchant.id, charged.currency, shard)
    ledger = await Ledger.of_session(session)
    legs = [
        Leg(source.id, -charged.minor, charged.currency),
        Leg(target_id, amount - fee, charged.currency),
    ]
    if fee:
        fee_account = await fee_account_id(ledger.conn, charged.currency, shard)
        legs.append(Leg(fee_account, fee, charged.currency))
    if discount:
        marketing = await system_account_id(ledger.conn, "equity", charged.currency, "marketing")
        legs.append(Leg(marketing, -discount, charged.currency))
    # Everything that does not depend on the ledger entry is written first, so the merchant's
    # and the fee account's rows (hot: every payment of the shop locks them) are held for as
    # short a time as possible: the posting, two inserts and the commit.
    reference = payment.reference if payment is not None and payment.reference else None
    reference = reference or new_reference(now)
    tx_id = uuid7()
    new_payment = payment is None
    if payment is None:
        payment = Payment(
            id=payment_id,
            merchant_id=merchant.id,
            customer_id=customer.id,
            method=order.method,
            currency=charged.currency,
            amount=amount,
            refunded=0,
            refunded_fee=0,
            refunded_discount=0,
            order_reference=order.order_reference,
            description=order.description,
            checkout_session_id=order.checkout.id if order.checkout else None,
            idempotency_key=key,
            fingerprint=order.fingerprint(),
            created_at=now,
        )
    payment.status = "succeeded"
    payment.discount = discount
    payment.fee = fee
    payment.reference = reference
    payment.promo_code_id = promo_id
    payment.transaction_id = tx_id
    payment.succeeded_at = now
    payment.expires_at = None
    if order.checkout is not None:
        # A new payment's WRITE_PAYMENT_ROWS below closes the session, not the ORM.
        write = set_committed_value if new_payment else setattr
        for name, value in {"status": "paid", "payment_id": payment_id, "closed_at": now}.items():
            write(order.checkout, name, value)
    notice = {"template": "wallet.payment_made", "transaction_id": str(tx_id)}
    if not new_payment:
        await emit(session, TRANSACTION_TOPIC, notice, wake=False)
    site = ctx.settings.http.site_url()
    await events.payment_succeeded(session, payment, order.checkout, now, site=site)
    await session.flush()  # the session's UPDATE (and a waiting payment's) before the posting
    entry = await ledger.post(
        PostEntry(
            key=f"merchant-pay:{merchant.id}:{key}",
            # A leg of zero (a 0.01 sale whose fee is 0.01, a promo paying it all) is left out.
            legs=tuple(leg for leg in legs if leg.amount),
            entry_type="merchant_payment",
            metadata={
                "payment_id": str(payment_id),
                "merchant_id": str(merchant.id),
                "customer_id": str(customer.id),
                "method": order.method,
            },
        )
    )
    balance = next(p.balance_after for p in entry.postings if p.account_id == source.id)
    payment.entry_id = entry.entry_id
    details = {
        "merchant_id": str(merchant.id),
        "merchant_name_en": merchant.name_en,
        "category": merchant.category,
        "payment_id": str(payment_id),
        "method": order.method,
        "price": amount,
        "discount": discount,
        "order_reference": order.order_reference or "",
    }
    if not new_payment:  # a payment-code payment that waited for the PIN: the ORM updates it
        session.add(
            WalletTransaction(
                id=tx_id, user_id=customer.id, account_id=source.id, kind="payment",
                direction="out", currency=charged.currency, amount=charged.minor,
                balance_after=balance, counterparty_name=merchant.name_zh,
                note=order.description, reference=reference, entry_id=entry.entry_id,
                details=details, created_at=now, listed_at=now,
            )
        )  # fmt: skip
        await session.flush()
        if assessment is not None:
            await risk_checks.log(
                session,
                risk_checks.decision_values(
                    assessment, customer.id, channel="payment", amount=charged,
                    counterparty_id=merchant.id, device_id=device_id, transaction_id=tx_id,
                    outcome=outcome,
                ),
            )  # fmt: skip
        return Paid(payment, replayed=False)
    # A new payment, its customer's history row, its checkout session closed and the
    # notification in one statement on the ledger's connection (the same transaction), as a
    # transfer does: the shop's and the fee account's rows stay locked for as short a time as
    # possible.
    try:
        await ledger.conn.execute(
            WRITE_PAYMENT_ROWS,
            payment_id, merchant.id, customer.id, order.method, charged.currency, amount,
            discount, fee, order.order_reference, order.description, reference,
            order.checkout.id if order.checkout else None, promo_id, entry.entry_id, tx_id,
            key, order.fingerprint(), now, source.id, charged.minor, balance,
            merchant.name_zh, json.dumps(details, ensure_ascii=False), TRANSACTION_TOPIC,
            json.dumps(notice),
            assessment.decision_id if assessment else None, device_id,
            assessment.decision.action if assessment else None,
            list(assessment.decision.reasons) if assessment else None,
            risk_checks.signals_json(assessment) if assessment else None, outcome,
        )  # fmt: skip
    except asyncpg.UniqueViolationError as exc:  # this order was paid meanwhile
        if exc.constraint_name == "uq_merchant_payments_order":
            raise OrderAlreadyPaid() from exc
        raise
    return Paid(payment, replayed=False)


async def get_payment(
    session: Any,
    payment_id: str | uuid.UUID,
    *,
    merchant_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> Payment:
    from qianbao.merchants.errors import PaymentNotFound

    try:
        wanted = payment_id if isinstance(payment_id, uuid.UUID) else uuid.UUID(str(payment_id))
    except ValueError:
        raise PaymentNotFound() from None
    row = await session.get(Payment, wanted)
    if (
        row is None
        or (merchant_id is not None and row.merchant_id != merchant_id)
        or (customer_id is not None and row.customer_id != customer_id)
    ):
        raise PaymentNotFound()
    return row


async def list_payments(
    session: Any,
    merchant_id: uuid.UUID,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    before: datetime | None = None,
) -> list[Payment]:
    query = select(Payment).where(Payment.merchant_id == merchant_id)
    if status:
        query = query.where(Payment.status == status)
    if since is not None:
        query = query.where(Payment.created_at >= since)
    if until is not None:
        query = query.where(Payment.created_at < until)
    if before is not None:
        query = query.where(Payment.created_at < before)
    query = query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
