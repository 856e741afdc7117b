"""Refunds: the whole payment or several parts of it, never more than was paid, from the
merchant's balance (which never goes negative), each with its idempotency key.

A refund of ``r`` of a payment of price ``A`` gives back the same share of the fee and of the
promo discount: the fee share to the merchant, the discount share to the marketing account, the
rest to the customer. Shares are computed on the running total (the last refund takes what is
left), so all the refunds of a payment return exactly its fee and discount, to the cent:
  merchant −(r − fee share), fee revenue −fee share, customer +(r − discount share),
  marketing +discount share."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import IdempotencyKeyReused
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.kernel.outbox import emit
from qianbao.kernel.text import plain_text
from qianbao.ledger import Ledger, Leg, PostEntry
from qianbao.ledger.accounts import system_account_id
from qianbao.ledger.commands import check_key
from qianbao.ledger.errors import AccountFrozen, InsufficientFunds
from qianbao.merchants import events
from qianbao.merchants.accounts import (
    debit_legs,
    fee_account_id,
    fee_account_ids,
    money_lock,
    shard_of,
)
from qianbao.merchants.errors import (
    MerchantBalanceTooLow,
    MerchantNotActive,
    PaymentNotFound,
    PaymentNotRefundable,
    RefundReasonTooLong,
    RefundTooLarge,
)
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import Payment, Refund
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.tasks import TRANSACTION_TOPIC
from qianbao.wallet.transfer import new_reference


def _share(total: int, price: int, refunded_after: int, returned: int) -> int:
    """This refund's share of ``total`` (a fee or a discount), on the running total."""
    if refunded_after >= price:
        return total - returned
    return total * refunded_after // price - returned


def money_back_details(merchant: Merchant, payment: Payment, **extra: str) -> dict[str, str]:
    """What the customer's history row of money back from a shop shows (refund, chargeback)."""
    return {
        "merchant_id": str(merchant.id),
        "merchant_name_en": merchant.name_en,
        "category": merchant.category,
        "payment_id": str(payment.id),
        "payment_reference": payment.reference,
        **extra,
    }


async def _fee_account_of(ledger: Ledger, payment: Payment) -> int:
    """The fee revenue account the payment's fee went to (its shard's): the fee comes back
    from there."""
    if payment.entry_id is not None:
        entry = await ledger.entry(payment.entry_id)
        fee_ids = set(await fee_account_ids(ledger.conn, payment.currency))
        for posting in entry["postings"]:
            if posting["account_id"] in fee_ids and posting["amount"] > 0:
                return int(posting["account_id"])
    return await fee_account_id(ledger.conn, payment.currency, shard_of(payment.id))


async def refund(
    session: Any,
    ctx: IdentityContext,
    merchant: Merchant,
    payment_id: str,
    *,
    amount: Money | None,
    reason: str | None,
    key: str,
    by: User | None = None,
) -> tuple[Refund, bool]:
    """Refund ``amount`` (``None``: all that is left). Returns ``(refund, replayed)``."""
    check_key(key)
    text = plain_text(reason or "")
    if len(text) > 200:
        raise RefundReasonTooLong()
    try:
        wanted = uuid.UUID(str(payment_id))
    except ValueError:
        raise PaymentNotFound() from None
    # The payment's row is locked first: racing refunds are judged one after the other.
    payment = (
        await session.execute(
            select(Payment)
            .where(Payment.id == wanted, Payment.merchant_id == merchant.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if payment is None:
        raise PaymentNotFound()
    fingerprint = hashlib.sha256(
        f"{payment.id}|{amount.minor if amount else 'all'}|{text}".encode()
    ).hexdigest()
    found = (
        await session.execute(
            select(Refund).where(Refund.merchant_id == merchant.id, Refund.idempotency_key == key)
        )
    ).scalar_one_or_none()
    if found is not None:
        if found.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if found.status == "failed":
            raise FAILURES.get(found.failure or "", MerchantBalanceTooLow)()
        return found, True
    if merchant.status not in ("active", "suspended"):
        raise MerchantNotActive()
    if payment.status != "succeeded":
        raise PaymentNotRefundable()
    left = (
        payment.amount - payment.refunded - payment.charged_back
    )  # a chargeback is not refundable
    cur = payment.currency
    value = left if amount is None else amount.minor
    if amount is not None and amount.currency != cur:
        raise RefundTooLarge(amount=Money(left, cur))
    if value <= 0 or value > left:
        raise RefundTooLarge(amount=Money(left, cur))
    after = payment.refunded + value
    fee_share = _share(payment.fee, payment.amount, after, payment.refunded_fee)
    discount_share = _share(payment.discount, payment.amount, after, payment.refunded_discount)
    now = clock_of(session).now()
    refund_id = uuid7()
    ledger = await Ledger.of_session(session)
    await money_lock(session, merchant.id)  # the shards' balances hold still until this posts
    customer_account = await wallet_account(session, payment.customer_id, cur)
    legs = await debit_legs(session, merchant.id, cur, value - fee_share)
    if fee_share:
        legs.append(Leg(await _fee_account_of(ledger, payment), -fee_share, cur))
    if value - discount_share:
        legs.append(Leg(customer_account.id, value - discount_share, cur))
    if discount_share:
        marketing = await system_account_id(ledger.conn, "equity", cur, "marketing")
        legs.append(Leg(marketing, discount_share, cur))
    try:
        entry = await ledger.post(
            PostEntry(
                key=f"merchant-refund:{merchant.id}:{key}",
                legs=tuple(leg for leg in legs if leg.amount),  # no zero legs
                entry_type="merchant_refund",
                metadata={"refund_id": str(refund_id), "payment_id": str(payment.id)},
            )
        )
    except (InsufficientFunds, AccountFrozen) as exc:
        error = MerchantBalanceTooLow() if isinstance(exc, InsufficientFunds) else exc
        failed = Refund(
            id=refund_id, payment_id=payment.id, merchant_id=merchant.id, currency=cur,
            amount=value, status="failed", failure=error.code, reason=text or None,
            reference=new_reference(now), idempotency_key=key, fingerprint=fingerprint,
            created_by=by.id if by is not None else None, created_at=now,
        )  # fmt: skip
        await _record_failure(ctx, failed)
        raise error from None
    reference = new_reference(now)
    row = Refund(
        id=refund_id,
        payment_id=payment.id,
        merchant_id=merchant.id,
        currency=cur,
        amount=value,
        fee_returned=fee_share,
        discount_returned=discount_share,
        reason=text or None,
        status="succeeded",
        reference=reference,
        entry_id=entry.entry_id,
        idempotency_key=key,
        fingerprint=fingerprint,
        created_by=by.id if by is not None else None,
        created_at=now,
    )
    session.add(row)
    payment.refunded = after
    payment.refunded_fee += fee_share
    payment.refunded_discount += discount_share
    to_customer = value - discount_share
    if to_customer:
        balance = next(
            p.balance_after for p in entry.postings if p.account_id == customer_account.id
        )
        tx_id = uuid7()
        session.add(
            WalletTransaction(
                id=tx_id,
                user_id=payment.customer_id,
                account_id=customer_account.id,
                kind="refund",
                direction="in",
                currency=cur,
                amount=to_customer,
                balance_after=balance,
                counterparty_name=merchant.name_zh,
                note=text or None,
                reference=reference,
                entry_id=entry.entry_id,
                details=money_back_details(merchant, payment, refund_id=str(refund_id)),
                created_at=now,
                listed_at=now,
            )
        )
        await emit(
            session,
            TRANSACTION_TOPIC,
            {"template": "wallet.refund_received", "transaction_id": str(tx_id)},
            wake=False,
        )
    await session.flush()
    await events.refund_finished(session, row, now)
    return row, False


FAILURES: dict[str, type[Exception]] = {
    MerchantBalanceTooLow.code: MerchantBalanceTooLow,
    AccountFrozen.code: AccountFrozen,
}


async def _record_failure(ctx: IdentityContext, failed: Refund) -> None:
    """A refund that could not be made is kept (and its webhook sent) although the request
    fails: committed on its own, after the request's work is rolled back."""
    try:
        async with ctx.db.side_transaction() as side:
            side.add(failed)
            await side.flush()
            await events.refund_finished(side, failed, failed.created_at)
    except IntegrityError:
        pass  # the same key failed in a parallel request: it is recorded once


async def refunds_of(session: Any, payment_id: uuid.UUID) -> list[Refund]:
    return list(
        (
            await session.execute(
                select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at)
            )
        ).scalars()
    )


async def get_refund(session: Any, merchant_id: uuid.UUID, refund_id: str) -> Refund:
    try:
        row = await session.get(Refund, uuid.UUID(str(refund_id)))
    except ValueError:
        row = None
    if row is None or row.merchant_id != merchant_id:
        raise PaymentNotFound()
    return row
