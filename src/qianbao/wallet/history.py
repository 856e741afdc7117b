"""Transaction history (C1, C2): filters by period, kind, direction, status, currency, an amount
range and text, newest first, cursor pagination; a detail view. Users only ever see their own
rows."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import func, or_, select, tuple_

from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.errors import ValidationFailed
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money, MoneyError
from qianbao.kernel.money import currency as lookup_currency
from qianbao.wallet import insights
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
    # A spending category of the insights (``insights.CATEGORIES``): its rows only.
    category: str | None = None

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
            raise ValidationFailed(N_("The end date is before the start date."), field="end")
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

    def parse(text: str | None, message: str, field: str) -> int | None:
        text = (text or "").strip()
        if not text:
            return None
        try:
            return Money.parse(text, currency).minor
        except MoneyError as exc:
            raise ValidationFailed(message, currency=currency, field=field) from exc

    low = parse(
        filters.min_amount,
        N_("The lowest amount is not valid: enter an amount in {currency} such as 12.34."),
        "min_amount",
    )
    high = parse(
        filters.max_amount,
        N_("The highest amount is not valid: enter an amount in {currency} such as 12.34."),
        "max_amount",
    )
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            N_("The lowest amount must not be above the highest amount."), field="max_amount"
        )
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


def _conditions(user_id: uuid.UUID, filters: Filters, now: datetime) -> list[Any]:
    """The WHERE clauses of ``filters`` for the user's rows."""
    where: list[Any] = [WalletTransaction.user_id == user_id]
    since, until = period_bounds(filters, now)
    if since is not None:
        where.append(WalletTransaction.listed_at >= since)
    if until is not None:
        where.append(WalletTransaction.listed_at < until)
    if filters.kind:
        where.append(WalletTransaction.kind == filters.kind)
    if filters.direction:
        where.append(WalletTransaction.direction == filters.direction)
    if filters.category:
        if filters.category not in insights.CATEGORIES:
            raise ValidationFailed()
        where.append(insights.category_condition(filters.category))
    if filters.status:
        if filters.status not in STATUSES:
            raise ValidationFailed()
        where.append(WalletTransaction.status == filters.status)
    low, high = amount_bounds(filters)
    if filters.amount_currency:
        where.append(WalletTransaction.currency == filters.amount_currency)
    if low is not None:
        where.append(WalletTransaction.amount >= low)
    if high is not None:
        where.append(WalletTransaction.amount <= high)
    if filters.q and filters.q.strip():
        like = f"%{filters.q.strip().replace('%', '').replace('_', '')[:50]}%"
        where.append(
            or_(
                WalletTransaction.counterparty_name.ilike(like),
                WalletTransaction.counterparty_phone.ilike(like),
                WalletTransaction.note.ilike(like),
                WalletTransaction.reference.ilike(like),
            )
        )
    return where


@dataclass(frozen=True)
class MonthTotal:
    """Money that moved in one calendar month (China time) and currency, among the rows that
    match the filters: completed rows only (pending and failed ones moved nothing yet)."""

    month: date
    currency: str
    money_in: int
    money_out: int


def month_of(at: datetime) -> date:
    """The first day of ``at``'s month on the wallet's calendar."""
    return at.astimezone(LOCAL_TZ).date().replace(day=1)


async def month_totals(
    session: Any,
    user_id: uuid.UUID,
    filters: Filters,
    months: list[date],
    *,
    now: datetime | None = None,
) -> list[MonthTotal]:
    """In and out per month and currency for ``months`` (the months a page of rows shows),
    whole months, with the same filters as the rows. One query."""
    if not months:
        return []
    first = datetime.combine(min(months), time.min, tzinfo=LOCAL_TZ)
    last = max(months)
    after = datetime.combine(
        (last.replace(day=28) + timedelta(days=4)).replace(day=1), time.min, tzinfo=LOCAL_TZ
    )
    month = func.date_trunc(
        "month", func.timezone(str(LOCAL_TZ), WalletTransaction.listed_at)
    ).label("month")
    stmt = (
        select(
            month,
            WalletTransaction.currency,
            func.coalesce(
                func.sum(WalletTransaction.amount).filter(WalletTransaction.direction == "in"), 0
            ),
            func.coalesce(
                func.sum(WalletTransaction.amount).filter(WalletTransaction.direction == "out"), 0
            ),
        )
        .where(
            *_conditions(user_id, filters, now or clock_of(session).now()),
            WalletTransaction.status == "completed",
            WalletTransaction.listed_at >= first,
            WalletTransaction.listed_at < after,
        )
        .group_by(month, WalletTransaction.currency)
    )
    wanted = set(months)
    return [
        MonthTotal(row[0].date(), row[1], int(row[2]), int(row[3]))
        for row in (await session.execute(stmt)).all()
        if row[0].date() in wanted
    ]


def validate(filters: Filters, now: datetime) -> None:
    """Raise the ``ValidationFailed`` that listing with ``filters`` would raise (a bad amount,
    date range or status): a streamed export checks them before it sends its first byte."""
    _conditions(uuid.UUID(int=0), filters, now)


def _older_than(at: datetime, ident: uuid.UUID) -> Any:
    """Rows after ``(at, ident)`` in the history's order (newest first). A row comparison,
    not ``listed_at < at OR (listed_at = at AND id < ident)``: PostgreSQL starts the index
    scan at the key instead of reading (and dropping) every newer row of the user."""
    return tuple_(WalletTransaction.listed_at, WalletTransaction.id) < tuple_(at, ident)


# What the CSV export writes of each row.
EXPORT_COLUMNS = (
    WalletTransaction.id,
    WalletTransaction.listed_at,
    WalletTransaction.kind,
    WalletTransaction.direction,
    WalletTransaction.amount,
    WalletTransaction.fee,
    WalletTransaction.currency,
    WalletTransaction.counterparty_name,
    WalletTransaction.counterparty_phone,
    WalletTransaction.note,
    WalletTransaction.status,
    WalletTransaction.reference,
    WalletTransaction.balance_after,
)


async def export_rows(
    session: Any,
    user_id: uuid.UUID,
    filters: Filters,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    now: datetime,
) -> list[Any]:
    """The rows ``list_transactions`` lists, in its order, from just after the row keyed
    ``after`` (``(listed_at, id)``; None: from the newest), at most ``limit``: the export
    columns only, as plain rows (no ORM objects), for reading a whole history in chunks."""
    stmt = select(*EXPORT_COLUMNS).where(*_conditions(user_id, filters, now))
    if after is not None:
        stmt = stmt.where(_older_than(*after))
    stmt = stmt.order_by(WalletTransaction.listed_at.desc(), WalletTransaction.id.desc())
    return list((await session.execute(stmt.limit(limit))).all())


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
    stmt = select(WalletTransaction).where(
        *_conditions(user_id, filters, now or clock_of(session).now())
    )
    if cursor:
        stmt = stmt.where(_older_than(*_uncursor(cursor)))
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
