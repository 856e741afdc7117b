"""The customer's payment code (B8, customer-presented): an 18-digit one-time code shown as a
barcode and a QR code, changing every minute, usable once. The shop's till sends it with the
amount; up to the customer's own no-PIN limit the payment goes through at once, above it the
customer confirms with the PIN on the phone.

Guessing is hopeless: 16 random digits (10^16) against the few codes alive in any minute, and
each merchant may present only ``payment_code_guesses_per_minute`` unknown codes a minute
before its till is refused for a minute."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import IdempotencyKeyReused
from qianbao.kernel.money import Money
from qianbao.kernel.text import is_ascii_digits
from qianbao.merchants import pay as paying
from qianbao.merchants.accounts import CURRENCY
from qianbao.merchants.errors import (
    NoPinLimitInvalid,
    OrderAlreadyPaid,
    PaymentCodeGuessing,
    PaymentCodeInvalid,
    PaymentNotAwaitingPin,
)
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import (
    Payment,
    PaymentCode,
    PaymentCodeSettings,
    TillGuess,
)
from qianbao.merchants.payment_risk import NeedsCustomer
from qianbao.wallet.transfer import new_reference

CODE_PREFIX = "28"  # like the wallets the customers know: their codes start with 25–30
CODE_LENGTH = 18
HASH_PURPOSE = "payment-code"
GRACE = timedelta(seconds=5)  # a code scanned as the screen refreshes still works


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime


def _new_code() -> str:
    return CODE_PREFIX + f"{secrets.randbelow(10 ** (CODE_LENGTH - len(CODE_PREFIX))):016d}"


_RETIRE = text(
    """UPDATE payment_codes SET status = 'replaced'
       WHERE user_id = :user_id AND status = 'active'
         AND id <> (SELECT id FROM payment_codes WHERE user_id = :user_id
                    ORDER BY created_at DESC, id DESC LIMIT 1)"""
)


async def issue(session: Any, ctx: IdentityContext, user: User) -> IssuedCode:
    """A fresh code for the customer's screen (the page asks for one every minute)."""
    if user.frozen_at is not None:
        from qianbao.ledger.errors import AccountFrozen

        raise AccountFrozen()
    now = clock_of(session).now()
    code = _new_code()
    expires = now + timedelta(seconds=ctx.settings.merchants.payment_code_seconds)
    # One code on the screen at a time: the ones before the previous are retired. The previous
    # one stays good until it expires, for the till that scanned it as the screen refreshed.
    await session.execute(_RETIRE, {"user_id": user.id})
    session.add(
        PaymentCode(
            user_id=user.id,
            code_hash=ctx.keyed_hash(HASH_PURPOSE, code),
            expires_at=expires,
            created_at=now,
        )
    )
    await session.flush()
    return IssuedCode(code=code, expires_at=expires)


async def no_pin_limit(session: Any, ctx: IdentityContext, user_id: uuid.UUID) -> int:
    row = await session.get(PaymentCodeSettings, user_id)
    if row is not None:
        return row.no_pin_limit
    return Money.parse(ctx.settings.merchants.payment_code_no_pin_default, CURRENCY).minor


async def set_no_pin_limit(
    session: Any, ctx: IdentityContext, user: User, limit: Money, *, pin: str
) -> None:
    """The customer's limit without PIN, set with the payment PIN: a higher limit lets a till
    take more without asking, so whoever holds the phone must know it."""
    maximum = Money.parse(ctx.settings.merchants.payment_code_no_pin_max, CURRENCY)
    if limit.currency != CURRENCY or limit.minor < 0 or limit.minor > maximum.minor:
        raise NoPinLimitInvalid(maximum=maximum)
    await identity_pin.verify_pin_in_transaction(session, ctx, user, pin)
    row = await session.get(PaymentCodeSettings, user.id)
    now = clock_of(session).now()
    if row is None:
        session.add(PaymentCodeSettings(user_id=user.id, no_pin_limit=limit.minor, updated_at=now))
    else:
        row.no_pin_limit = limit.minor
        row.updated_at = now
    await session.flush()


async def _misses_this_minute(session: Any, merchant_id: uuid.UUID, now: datetime) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).where(
                    TillGuess.merchant_id == merchant_id, TillGuess.at > now - timedelta(minutes=1)
                )
            )
        ).scalar_one()
    )


async def _record_miss(
    ctx: IdentityContext, merchant_id: uuid.UUID, code: str, now: datetime
) -> None:
    # Committed on its own: the request fails, the miss still counts.
    async with ctx.db.side_transaction() as side:
        side.add(TillGuess(merchant_id=merchant_id, at=now, code_tail=code[-4:]))


async def holder(session: Any, ctx: IdentityContext, merchant: Merchant, code: str) -> User:
    """The customer whose payment code the merchant typed (a cash agent identifying the
    customer): the code is used up; wrong codes count towards the same guessing limit as the
    till's."""
    from qianbao.merchants.errors_agents import CustomerNotFound

    now = clock_of(session).now()
    text = (code or "").strip()
    if await _misses_this_minute(session, merchant.id, now) >= (
        ctx.settings.merchants.payment_code_guesses_per_minute
    ):
        raise PaymentCodeGuessing(seconds=60)
    row = None
    if is_ascii_digits(text, CODE_LENGTH):
        row = (
            await session.execute(
                select(PaymentCode)
                .where(PaymentCode.code_hash.in_(ctx.keyed_hashes(HASH_PURPOSE, text)))
                .with_for_update()
            )
        ).scalar_one_or_none()
    if row is None or row.status != "active" or row.expires_at + GRACE <= now:
        await _record_miss(ctx, merchant.id, text or "-", now)
        raise CustomerNotFound()
    row.status = "used"
    customer = await session.get(User, row.user_id)
    assert customer is not None
    return customer


async def charge(
    session: Any,
    ctx: IdentityContext,
    merchant: Merchant,
    *,
    code: str,
    amount: Money,
    order_reference: str | None,
    description: str | None,
    key: str,
) -> paying.Paid:
    """The till's call: take ``amount`` with the customer's code. Returns a succeeded payment,
    or one that ``requires_confirmation`` (the customer is asked for the PIN)."""
    now = clock_of(session).now()
    paying_key = f"till:{key}"
    replay = await paying.existing(session, merchant.id, paying_key)
    text = (code or "").strip()
    order = paying.Order(
        method="payment_code",
        amount=amount,
        order_reference=order_reference,
        description=description,
        payer=ctx.keyed_hash(HASH_PURPOSE, text).hex() if text else "",
    )
    if replay is not None:
        if replay.fingerprint != order.fingerprint():
            raise IdempotencyKeyReused()
        return paying.Paid(replay, replayed=True)
    limit = ctx.settings.merchants.payment_code_guesses_per_minute
    if await _misses_this_minute(session, merchant.id, now) >= limit:
        raise PaymentCodeGuessing(seconds=60)
    row = None
    if is_ascii_digits(text, CODE_LENGTH):
        row = (
            await session.execute(
                select(PaymentCode)
                .where(PaymentCode.code_hash.in_(ctx.keyed_hashes(HASH_PURPOSE, text)))
                .with_for_update()
            )
        ).scalar_one_or_none()
    if row is None or row.status != "active" or row.expires_at + GRACE <= now:
        await _record_miss(ctx, merchant.id, text or "-", now)
        raise PaymentCodeInvalid()
    customer = await session.get(User, row.user_id)
    assert customer is not None
    paying.ensure_can_pay(merchant, customer, amount)
    row.status = "used"
    if amount.minor <= await no_pin_limit(session, ctx, customer.id):
        try:
            done = await paying.pay(
                session, ctx, customer, merchant, order, key=paying_key, pin=None
            )
        except NeedsCustomer:
            pass  # the risk rules want the customer: they confirm on the phone (below)
        else:
            row.payment_id = done.payment.id
            return done
    # Above the customer's limit (or asked for by the risk rules): nothing moves until they
    # confirm with the PIN on the phone.
    payment = Payment(
        merchant_id=merchant.id,
        customer_id=customer.id,
        method="payment_code",
        status="requires_confirmation",
        currency=amount.currency,
        amount=amount.minor,
        order_reference=order_reference,
        description=description,
        reference=new_reference(now),
        idempotency_key=paying_key,
        fingerprint=order.fingerprint(),
        created_at=now,
        expires_at=now + timedelta(minutes=ctx.settings.merchants.payment_code_confirm_minutes),
    )
    session.add(payment)
    try:
        async with session.begin_nested():
            await session.flush()
    except Exception as exc:
        if "uq_merchant_payments_order" in str(exc):
            raise OrderAlreadyPaid() from exc
        raise
    row.payment_id = payment.id
    await session.flush()
    return paying.Paid(payment, replayed=False)


async def awaiting(session: Any, user: User) -> list[Payment]:
    """Till payments waiting for this customer's PIN (the payment-code page polls it)."""
    now = clock_of(session).now()
    return list(
        (
            await session.execute(
                select(Payment)
                .where(
                    Payment.customer_id == user.id,
                    Payment.status == "requires_confirmation",
                    Payment.expires_at > now,
                )
                .order_by(Payment.created_at)
            )
        ).scalars()
    )


async def _pending(session: Any, user: User, payment_id: str) -> Payment:
    payment = await paying.get_payment(session, payment_id, customer_id=user.id)
    locked = (
        await session.execute(
            select(Payment)
            .where(Payment.id == payment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    now = clock_of(session).now()
    if locked.status != "requires_confirmation" or (locked.expires_at and locked.expires_at <= now):
        raise PaymentNotAwaitingPin()
    return locked


async def confirm(
    session: Any,
    ctx: IdentityContext,
    user: User,
    payment_id: str,
    *,
    pin: str,
    device_id: uuid.UUID | None = None,
    proof: Any = None,
) -> paying.Paid:
    payment = await _pending(session, user, payment_id)
    merchant = await session.get(Merchant, payment.merchant_id)
    assert merchant is not None
    order = paying.Order(
        method="payment_code",
        amount=Money(payment.amount, payment.currency),
        order_reference=payment.order_reference,
        description=payment.description,
    )
    key = payment.idempotency_key or f"till:{payment.id}"
    return await paying.pay(
        session, ctx, user, merchant, order, key=key, pin=pin, payment=payment,
        device_id=device_id, proof=proof,
    )  # fmt: skip


async def decline(session: Any, user: User, payment_id: str) -> Payment:
    payment = await _pending(session, user, payment_id)
    payment.status = "cancelled"
    payment.expires_at = None
    await session.flush()
    return payment


async def expire_due(session: Any) -> int:
    """Till payments nobody confirmed in time become ``expired`` (nothing had moved)."""
    now = clock_of(session).now()
    rows = list(
        (
            await session.execute(
                select(Payment)
                .where(Payment.status == "requires_confirmation", Payment.expires_at <= now)
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    for row in rows:
        row.status = "expired"
    await session.flush()
    return len(rows)
