"""Transaction history (C1, C2): filters by period, kind, direction, status, currency, an amount
range and text, newest first, cursor pagination; a detail view. Users only ever see their own
rows."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import and_, or_, select

from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.errors import ValidationFailed
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money, MoneyError
from qianbao.kernel.money import currency as lookup_currency
from qianbao.wallet.accounts import DEFAULT_CURRENCY
from qianbao.wallet.errors import TransactionNotFound
from qianbao.wallet.models import WalletTransaction

Period = Literal["all", "yesterday", "7d", "30d", "custom"]
Status = Literal["pending", "completed", "failed", "reversed"]
STATUSES: tuple[Status, ...] = ("pending", "completed", "failed", "reversed")


@dataclass
class Filters:
    period: Period = "all"
    start: date | None = None
    end: date | None = None
    kind: str | None = None
    direction: Literal["in", "out"] | None = None
    q: str | None = None
    status: Status | None = None
    # The amount range: decimal strings as the user typed them ("12.34"), parsed with
    # Money.parse in ``currency`` (the default currency when a bound is given without one).
    # Only the amount counts, not the fee; both bounds are inclusive.
    currency: str | None = None
    min_amount: str | None = None
    max_amount: str | None = None

    @property
    def amount_currency(self) -> str | None:
        """The currency the rows are restricted to (explicit, or implied by an amount bound)."""
        if self.currency:
            return self.currency
        return DEFAULT_CURRENCY if (self.min_amount or self.max_amount) else None


@dataclass
class Page:
    rows: list[WalletTransaction]
    next_cursor: str | None


def period_bounds(filters: Filters, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Local-calendar bounds (the wallet's users think in their own days)."""
    today = now.astimezone(LOCAL_TZ).date()

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)

    if filters.period == "yesterday":
        return start_of(today - timedelta(days=1)), start_of(today)
    if filters.period == "7d":
        return start_of(today - timedelta(days=6)), None
    if filters.period == "30d":
        return start_of(today - timedelta(days=29)), None
    if filters.period == "custom":
        if filters.start and filters.end and filters.start > filters.end:
            raise ValidationFailed()
        return (
            start_of(filters.start) if filters.start else None,
            start_of(filters.end + timedelta(days=1)) if filters.end else None,
        )
    return None, None


def amount_bounds(filters: Filters) -> tuple[int | None, int | None]:
    """The amount range in minor units; a bound that is not a valid non-negative amount in the
    currency, or a lowest amount above the highest, is ``ValidationFailed`` with a message that
    says which."""
    currency = filters.amount_currency or DEFAULT_CURRENCY
    lookup_currency(currency)  # an unknown code is money.unknown_currency, not a bad amount

    def parse(text: str | None, message: str) -> int | None:
        text = (text or "").strip()
        if not text:
            return None
        try:
            return Money.parse(text, currency).minor
        except MoneyError as exc:
            raise ValidationFailed(message, currency=currency) from exc

    low = parse(
        filters.min_amount,
        N_("The lowest amount is not valid: enter an amount in {currency} such as 12.34."),
    )
    high = parse(
        filters.max_amount,
        N_("The highest amount is not valid: enter an amount in {currency} such as 12.34."),
    )
    if low is not None and high is not None and low > high:
        raise ValidationFailed(N_("The lowest amount must not be above the highest amount."))
    return low, high


def _cursor(row: WalletTransaction) -> str:
    raw = f"{row.listed_at.isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed() from exc


async def list_transactions(
    session: Any,
    user_id: uuid.UUID,
    filters: Filters,
    *,
    cursor: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> Page:
    limit = max(1, min(limit, 100))
    stmt = select(WalletTransaction).where(WalletTransaction.user_id == user_id)
    since, until = period_bounds(filters, now or clock_of(session).now())
    if since is not None:
        stmt = stmt.where(WalletTransaction.listed_at >= since)
    if until is not None:
        stmt = stmt.where(WalletTransaction.listed_at < until)
    if filters.kind:
        stmt = stmt.where(WalletTransaction.kind == filters.kind)
    if filters.direction:
        stmt = stmt.where(WalletTransaction.direction == filters.direction)
    if filters.status:
        if filters.status not in STATUSES:
            raise ValidationFailed()
        stmt = stmt.where(WalletTransaction.status == filters.status)
    low, high = amount_bounds(filters)
    if filters.amount_currency:
        stmt = stmt.where(WalletTransaction.currency == filters.amount_currency)
    if low is not None:
        stmt = stmt.where(WalletTransaction.amount >= low)
    if high is not None:
        stmt = stmt.where(WalletTransaction.amount <= high)
    if filters.q and filters.q.strip():
        like = f"%{filters.q.strip().replace('%', '').replace('_', '')[:50]}%"
        stmt = stmt.where(
            or_(
                WalletTransaction.counterparty_name.ilike(like),
                WalletTransaction.counterparty_phone.ilike(like),
                WalletTransaction.note.ilike(like),
                WalletTransaction.reference.ilike(like),
            )
        )
    if cursor:
        at, ident = _uncursor(cursor)
        stmt = stmt.where(
            or_(
                WalletTransaction.listed_at < at,
                and_(WalletTransaction.listed_at == at, WalletTransaction.id < ident),
            )
        )
    rows = list(
        (
            await session.execute(
                stmt.order_by(
                    WalletTransaction.listed_at.desc(), WalletTransaction.id.desc()
                ).limit(limit + 1)
            )
        ).scalars()
    )
    next_cursor = _cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page(rows=rows[:limit], next_cursor=next_cursor)


async def get_transaction(
    session: Any, user_id: uuid.UUID, transaction_id: str
) -> WalletTransaction:
    """One of the user's own transactions; anyone else's is simply not found."""
    try:
        ident = uuid.UUID(transaction_id)
    except ValueError:
        raise TransactionNotFound() from None
    row = (
        await session.execute(
            select(WalletTransaction).where(
                WalletTransaction.id == ident, WalletTransaction.user_id == user_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise TransactionNotFound()
    return row
