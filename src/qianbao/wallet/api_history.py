"""The wallet's history API: the transactions, filtered, a page at a time; their CSV export;
one transaction."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from qianbao.kernel.clock import clock_of
from qianbao.kernel.http import TxRoute, locale_of
from qianbao.wallet import export, history
from qianbao.wallet.api import DbSession, Me, PageOut, TransactionOut, transaction_out

router = APIRouter(prefix="/api/v1/wallet", tags=["wallet"], route_class=TxRoute)


async def history_filters(
    period: history.Period = "all",
    start: date | None = None,
    end: date | None = None,
    kind: str | None = Query(default=None, max_length=16),
    direction: Literal["in", "out"] | None = None,
    q: str | None = Query(default=None, max_length=50),
    status: history.Status | None = None,
    currency: str | None = Query(
        default=None,
        max_length=8,
        description="Only this currency (CNY when an amount bound is given without one)",
    ),
    min_amount: str | None = Query(
        default=None,
        max_length=32,
        description="Lowest amount, inclusive, as a decimal string (`10.00`); not the fee",
    ),
    max_amount: str | None = Query(
        default=None, max_length=32, description="Highest amount, inclusive (decimal string)"
    ),
    category: str | None = Query(
        default=None,
        max_length=16,
        description="A spending category of /insights (food, shopping, …, transfers, fees): "
        "the rows its amount comes from",
    ),
) -> history.Filters:
    """The history filters of the query string (shared by the list and the CSV export)."""
    return history.Filters(
        period=period,
        start=start,
        end=end,
        kind=kind,
        direction=direction,
        q=q,
        status=status,
        currency=currency,
        min_amount=min_amount,
        max_amount=max_amount,
        category=category,
    )


HistoryFilters = Annotated[history.Filters, Depends(history_filters)]
HISTORY_PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "`validation_failed` (a bad amount bound, lowest above highest, a bad "
        "cursor or date range), `money.unknown_currency` or `request.validation_failed`, as "
        "application/problem+json",
    }
}


@router.get(
    "/transactions",
    response_model=PageOut,
    summary="History, newest first, with filters",
    responses=HISTORY_PROBLEMS,
)
async def list_transactions(
    s: DbSession,
    caller: Me,
    filters: HistoryFilters,
    cursor: str | None = Query(default=None, max_length=200),
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PageOut:
    page = await history.list_transactions(s, caller.user.id, filters, cursor=cursor, limit=limit)
    return PageOut(
        transactions=[transaction_out(r) for r in page.rows], next_cursor=page.next_cursor
    )


@router.get(
    "/transactions.csv",
    summary="The filtered history as CSV (UTF-8 with BOM)",
    responses={200: {"content": {"text/csv": {}}, "description": "The CSV"}, **HISTORY_PROBLEMS},
)
async def export_csv(
    request: Request, s: DbSession, caller: Me, filters: HistoryFilters
) -> Response:
    # Streamed in chunks, each read in its own short transaction (export.csv_stream).
    chunks = export.csv_stream(
        request.app.state.db, caller.user.id, filters, locale_of(request), now=clock_of(s).now()
    )
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.FILENAME}"'},
    )


@router.get(
    "/transactions/{transaction_id}", response_model=TransactionOut, summary="One transaction"
)
async def get_transaction(transaction_id: str, s: DbSession, caller: Me) -> TransactionOut:
    return transaction_out(await history.get_transaction(s, caller.user.id, transaction_id))
