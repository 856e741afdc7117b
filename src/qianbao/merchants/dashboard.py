"""What the merchant dashboard (``/merchant``) reads that the API does not: who the signed-in
staff member works for and in which role, today's sales, a filtered page of payments, and a
settlement's report lines with their totals (the page and its CSV)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.errors import ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.merchants import onboarding, settlement
from qianbao.merchants.errors import MerchantError
from qianbao.merchants.models import Merchant, MerchantStaff
from qianbao.merchants.models_payments import PAYMENT_STATUSES, Payment, Refund

PAGE_SIZE = 20
MANAGERS = ("owner",)  # the roles that manage API keys and webhook endpoints


class OwnerOnly(MerchantError):
    code = "merchants.owner_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only the merchant's owner can manage API keys and webhooks.")


@dataclass(frozen=True)
class Staffing:
    merchant: Merchant
    role: str  # owner | staff

    @property
    def manages(self) -> bool:
        return self.role in MANAGERS


async def staffing(session: Any, user: User) -> Staffing:
    """The merchant a ``merchant_staff`` user works for and their role there
    (``merchants.not_staff`` for anyone else)."""
    merchant = await onboarding.of_staff(session, user)
    role = (
        await session.execute(select(MerchantStaff.role).where(MerchantStaff.user_id == user.id))
    ).scalar_one()
    return Staffing(merchant, role or "staff")


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class DaySales:
    day: date
    count: int
    total: int  # the orders' prices, minor units
    refunded: int  # refunds made today, minor units


async def sales_today(session: Any, merchant_id: uuid.UUID, currency: str = "CNY") -> DaySales:
    """Today's (China time) succeeded payments: how many and their total; and today's refunds."""
    today = clock_of(session).now().astimezone(LOCAL_TZ).date()
    start, end = local_day_bounds(today)
    count, total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.merchant_id == merchant_id,
                Payment.currency == currency,
                Payment.status == "succeeded",
                Payment.succeeded_at >= start,
                Payment.succeeded_at < end,
            )
        )
    ).one()
    refunded = (
        await session.execute(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.merchant_id == merchant_id,
                Refund.currency == currency,
                Refund.status == "succeeded",
                Refund.created_at >= start,
                Refund.created_at < end,
            )
        )
    ).scalar_one()
    return DaySales(today, int(count), int(total), int(refunded))


@dataclass(frozen=True)
class PaymentsPage:
    rows: list[Payment]
    next_cursor: str | None  # pass as ``after`` for the next (older) page


def _cursor(row: Payment) -> str:
    return f"{row.created_at.isoformat()}|{row.id}"


def _parse_cursor(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not value:
        return None
    at, _, ident = value.partition("|")
    try:
        parsed = datetime.fromisoformat(at)
        return (parsed, uuid.UUID(ident)) if parsed.tzinfo else None
    except ValueError:
        return None


async def payments_page(
    session: Any,
    merchant_id: uuid.UUID,
    *,
    status: str | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> PaymentsPage:
    """The merchant's payments, newest first, filtered by status and by days (China time, both
    ends included); ``after`` is the cursor of the previous page (ties in time are kept apart
    by the id, so no payment is skipped or shown twice)."""
    query = select(Payment).where(Payment.merchant_id == merchant_id)
    if status in PAYMENT_STATUSES:
        query = query.where(Payment.status == status)
    if day_from is not None:
        query = query.where(Payment.created_at >= local_day_bounds(day_from)[0])
    if day_to is not None:
        query = query.where(Payment.created_at < local_day_bounds(day_to)[1])
    cursor = _parse_cursor(after)
    if cursor is not None:
        at, ident = cursor
        query = query.where(
            or_(Payment.created_at < at, and_(Payment.created_at == at, Payment.id < ident))
        )
    query = query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return PaymentsPage(rows, _cursor(rows[-1]) if more and rows else None)


@dataclass(frozen=True)
class ReportLine:
    kind: str  # payment | refund
    at: datetime | None
    reference: str  # the line's own receipt number
    payment_reference: str  # the payment's (a refund's: the payment it gives back)
    order_reference: str | None
    description: str | None  # a payment's description, a refund's reason
    amount: int  # signed: a refund is negative
    fee: int  # the fee kept (a refund gives back its share: negative)
    discount: int  # the promo discount funded by the operator (a refund's share: negative)
    net: int  # amount − fee: what the payout carries for this line
    payment_id: uuid.UUID


@dataclass(frozen=True)
class Report:
    settlement: Any  # models_payments.Settlement
    lines: list[ReportLine]
    amount: int  # sum of the lines' amounts (gross − refunds)
    fees: int
    discounts: int
    net: int  # equals settlement.net


def _payment_line(p: Payment) -> ReportLine:
    return ReportLine(
        kind="payment",
        at=p.succeeded_at,
        reference=p.reference,
        payment_reference=p.reference,
        order_reference=p.order_reference,
        description=p.description,
        amount=p.amount,
        fee=p.fee,
        discount=p.discount,
        net=p.amount - p.fee,
        payment_id=p.id,
    )


def _refund_line(r: Refund, payment_reference: str, order_reference: str | None) -> ReportLine:
    return ReportLine(
        kind="refund",
        at=r.created_at,
        reference=r.reference,
        payment_reference=payment_reference,
        order_reference=order_reference,
        description=r.reason,
        amount=-r.amount,
        fee=-r.fee_returned,
        discount=-r.discount_returned,
        net=-(r.amount - r.fee_returned),
        payment_id=r.payment_id,
    )


async def settlement_report(session: Any, merchant_id: uuid.UUID, settlement_id: str) -> Report:
    """A payout of this merchant with every payment and refund it pays for; the lines' net
    amounts add up to the payout (``merchants.payment_not_found`` for another's)."""
    row = await settlement.get_settlement(session, merchant_id, settlement_id)
    pays, refs = await settlement.lines(session, row)
    orders = {p.id: (p.reference, p.order_reference) for p in pays}
    missing = {r.payment_id for r in refs} - set(orders)
    if missing:
        found = await session.execute(
            select(Payment.id, Payment.reference, Payment.order_reference).where(
                Payment.id.in_(missing)
            )
        )
        orders.update({pid: (ref, order) for pid, ref, order in found.tuples().all()})
    lines = [_payment_line(p) for p in pays]
    lines += [_refund_line(r, *orders.get(r.payment_id, ("", None))) for r in refs]
    lines.sort(key=lambda line: (line.at or row.created_at, line.kind))
    return Report(
        settlement=row,
        lines=lines,
        amount=sum(line.amount for line in lines),
        fees=sum(line.fee for line in lines),
        discounts=sum(line.discount for line in lines),
        net=sum(line.net for line in lines),
    )
