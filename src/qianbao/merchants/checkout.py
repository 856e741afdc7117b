"""Checkout sessions (B9) and dynamic QR codes (B8): a merchant asks for an amount for one of
its orders; the customer pays it on the wallet's hosted page (or by scanning its QR). An open
session can be paid once, until it expires or the merchant cancels it."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import IdempotencyKeyReused
from qianbao.kernel.money import Money
from qianbao.kernel.text import plain_text
from qianbao.ledger.commands import check_key
from qianbao.merchants import events
from qianbao.merchants.accounts import CURRENCY
from qianbao.merchants.errors import (
    CurrencyNotAccepted,
    DescriptionTooLong,
    ExpiryInvalid,
    MerchantNotActive,
    OrderReferenceInvalid,
    SessionAlreadyPaid,
    SessionCancelled,
    SessionExpired,
    SessionNotFound,
    SessionNotOpen,
    UrlInvalid,
)
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import CheckoutSession


def _url(value: str | None, field: str, *, allow_http: bool) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    schemes = ("https", "http") if allow_http else ("https",)
    if (
        len(value) > 2000
        or parts.scheme not in schemes
        or not parts.hostname
        or parts.username
        or parts.password
        or not value.isprintable()
    ):
        raise UrlInvalid(field=field)
    return value


def order_reference(value: str | None) -> str:
    ref = (value or "").strip()
    if not (0 < len(ref) <= 64) or not ref.isprintable():
        raise OrderReferenceInvalid()
    return ref


def description(value: str | None) -> str | None:
    text = plain_text(value or "")
    if len(text) > 200:
        raise DescriptionTooLong()
    return text or None


def _fingerprint(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


async def create_session(
    session: Any,
    settings: Any,
    merchant: Merchant,
    *,
    amount: Money,
    order_ref: str,
    desc: str | None,
    success_url: str | None,
    cancel_url: str | None,
    expires_in_minutes: int | None,
    key: str,
    method: str = "checkout",
) -> tuple[CheckoutSession, bool]:
    """A new open session, or the one this idempotency key made (``(session, replayed)``)."""
    check_key(key)
    if merchant.status != "active":
        raise MerchantNotActive()
    if amount.currency != CURRENCY:
        raise CurrencyNotAccepted()
    cfg = settings.merchants
    ref = order_reference(order_ref)
    text = description(desc)
    allow_http = cfg.return_urls_may_be_http
    success = _url(success_url, "success_url", allow_http=allow_http)
    cancel = _url(cancel_url, "cancel_url", allow_http=allow_http)
    minutes = cfg.checkout_expiry_minutes if expires_in_minutes is None else expires_in_minutes
    if not (1 <= minutes <= cfg.checkout_max_expiry_minutes):
        raise ExpiryInvalid(hours=cfg.checkout_max_expiry_minutes // 60)
    fingerprint = _fingerprint(
        amount=amount.minor, currency=amount.currency, ref=ref, desc=text, success=success,
        cancel=cancel, minutes=minutes, method=method,
    )  # fmt: skip
    existing = (
        await session.execute(
            select(CheckoutSession).where(
                CheckoutSession.merchant_id == merchant.id, CheckoutSession.idempotency_key == key
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return existing, True
    now = clock_of(session).now()
    row = CheckoutSession(
        merchant_id=merchant.id,
        method=method,
        currency=amount.currency,
        amount=amount.minor,
        order_reference=ref,
        description=text,
        success_url=success,
        cancel_url=cancel,
        expires_at=now + timedelta(minutes=minutes),
        idempotency_key=key,
        fingerprint=fingerprint,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row, False


def _id(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise SessionNotFound() from None


async def get_session(
    session: Any, session_id: str | uuid.UUID, *, merchant_id: uuid.UUID | None = None
) -> CheckoutSession:
    """A session by id; with ``merchant_id``, only that merchant's (another's is not found)."""
    row = await session.get(CheckoutSession, _id(session_id))
    if row is None or (merchant_id is not None and row.merchant_id != merchant_id):
        raise SessionNotFound()
    return row


async def lock_session(session: Any, session_id: str | uuid.UUID) -> CheckoutSession:
    row = (
        await session.execute(
            select(CheckoutSession)
            .where(CheckoutSession.id == _id(session_id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        raise SessionNotFound()
    return row


async def lock_session_with_merchant(
    session: Any, session_id: str | uuid.UUID
) -> tuple[CheckoutSession, Merchant]:
    """The session's row locked, with its merchant (read, not locked), in one round trip."""
    found = (
        await session.execute(
            select(CheckoutSession, Merchant)
            .join(Merchant, Merchant.id == CheckoutSession.merchant_id)
            .where(CheckoutSession.id == _id(session_id))
            .with_for_update(of=CheckoutSession)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if found is None:
        raise SessionNotFound()
    return found[0], found[1]


def effective_status(row: CheckoutSession, now: datetime) -> str:
    """``open`` past its expiry reads as ``expired`` before the sweeper has marked it."""
    if row.status == "open" and row.expires_at <= now:
        return "expired"
    return row.status


def ensure_payable(row: CheckoutSession, now: datetime) -> None:
    status = effective_status(row, now)
    if status == "paid":
        raise SessionAlreadyPaid()
    if status == "expired":
        raise SessionExpired()
    if status == "cancelled":
        raise SessionCancelled()


async def cancel_session(session: Any, merchant: Merchant, session_id: str) -> CheckoutSession:
    row = await lock_session(session, session_id)
    if row.merchant_id != merchant.id:
        raise SessionNotFound()
    now = clock_of(session).now()
    if row.status == "cancelled":
        return row
    if effective_status(row, now) != "open":
        raise SessionNotOpen()
    row.status = "cancelled"
    row.closed_at = now
    await session.flush()
    return row


async def list_sessions(
    session: Any, merchant_id: uuid.UUID, *, method: str | None = None, limit: int = 50
) -> list[CheckoutSession]:
    query = (
        select(CheckoutSession)
        .where(CheckoutSession.merchant_id == merchant_id)
        .order_by(CheckoutSession.created_at.desc())
        .limit(limit)
    )
    if method:
        query = query.where(CheckoutSession.method == method)
    return list((await session.execute(query)).scalars())


async def expire_due(session: Any, *, site: str = "", limit: int = 500) -> int:
    """Mark open sessions past their expiry as expired and tell their merchants (``site``: the
    absolute base of the payment page's link in the event)."""
    now = clock_of(session).now()
    rows = list(
        (
            await session.execute(
                select(CheckoutSession)
                .where(CheckoutSession.status == "open", CheckoutSession.expires_at <= now)
                .order_by(CheckoutSession.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    for row in rows:
        row.status = "expired"
        row.closed_at = now
        await events.session_expired(session, row, now, site=site)
    await session.flush()
    return len(rows)
