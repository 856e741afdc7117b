"""The wallet JSON API, monthly statements (C3): the months with activity, and a month as JSON
(balances, totals, every line with the running balance) or as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from qianbao.kernel.clock import clock_of
from qianbao.kernel.http import TxRoute, locale_of
from qianbao.wallet import export, statement
from qianbao.wallet.api import DbSession, Me, MoneyOut, money

router = APIRouter(prefix="/api/v1/wallet", tags=["wallet"], route_class=TxRoute)


class StatementLineOut(BaseModel):
    time: datetime
    kind: str = Field(
        description="Wallet kind; `reversal`, `fee` or `adjustment` for a posting without one"
    )
    direction: Literal["in", "out"]
    status: str
    amount: MoneyOut = Field(description="Without the fee")
    fee: MoneyOut
    balance_after: MoneyOut
    transaction_id: str | None
    reference: str | None
    counterparty_name: str | None
    counterparty_phone: str | None
    note: str | None


class StatementOut(BaseModel):
    month: str = Field(examples=["2026-10"])
    currency: str
    period_start: datetime = Field(description="First instant of the month, China time")
    period_end: datetime = Field(description="First instant of the next month (exclusive)")
    complete: bool = Field(description="False while the month is still running")
    opening_balance: MoneyOut
    total_in: MoneyOut
    total_out: MoneyOut
    total_fees: MoneyOut
    closing_balance: MoneyOut = Field(description="opening + in - out - fees")
    count: int
    lines: list[StatementLineOut] = Field(description="Oldest first, with the running balance")


class StatementMonthsOut(BaseModel):
    currency: str
    months: list[str] = Field(description="Newest first; the current month is always listed")


MONTH_PROBLEM: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "`wallet.statement_month_invalid` (not YYYY-MM, or in the future) or "
        "`money.unknown_currency`, as application/problem+json",
    }
}


def statement_out(st: statement.Statement) -> StatementOut:
    cur = st.currency
    return StatementOut(
        month=st.label,
        currency=cur,
        period_start=st.start,
        period_end=st.end,
        complete=st.complete,
        opening_balance=money(st.opening, cur),
        total_in=money(st.total_in, cur),
        total_out=money(st.total_out, cur),
        total_fees=money(st.total_fees, cur),
        closing_balance=money(st.closing, cur),
        count=st.count,
        lines=[
            StatementLineOut(
                time=line.at,
                kind=line.kind,
                direction=line.direction,
                status=line.status,
                amount=money(line.amount, cur),
                fee=money(line.fee, cur),
                balance_after=money(line.balance_after, cur),
                transaction_id=str(line.transaction_id) if line.transaction_id else None,
                reference=line.reference,
                counterparty_name=line.counterparty_name,
                counterparty_phone=line.counterparty_phone,
                note=line.note,
            )
            for line in st.lines
        ],
    )


StatementMonth = Annotated[
    str,
    Path(
        description="The month as YYYY-MM, China time; not after the current month",
        examples=["2026-10"],
    ),
]
StatementCurrency = Annotated[
    str, Query(max_length=8, description="The wallet currency of the statement")
]


@router.get(
    "/statements",
    response_model=StatementMonthsOut,
    summary="Months that have a statement (months with activity)",
    responses={422: MONTH_PROBLEM[422]},
)
async def statement_months(
    s: DbSession, caller: Me, currency: StatementCurrency = "CNY"
) -> StatementMonthsOut:
    months = await statement.months_with_activity(s, caller.user.id, currency)
    return StatementMonthsOut(currency=currency, months=[statement.month_key(m) for m in months])


@router.get(
    "/statements/{month}.csv",
    summary="The monthly statement as CSV (UTF-8 with BOM, headers in the caller's language)",
    responses={
        200: {"content": {"text/csv": {}}, "description": "The statement"},
        **MONTH_PROBLEM,
    },
)
async def statement_csv(
    month: StatementMonth,
    request: Request,
    s: DbSession,
    caller: Me,
    currency: StatementCurrency = "CNY",
) -> Response:
    st = await statement.monthly_statement(
        s, caller.user.id, statement.parse_month(month, clock_of(s).now()), currency
    )
    return Response(
        export.statement_csv(st, locale_of(request)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.statement_filename(st)}"'},
    )


@router.get(
    "/statements/{month}",
    response_model=StatementOut,
    summary="The monthly statement: balances, totals and every transaction of the month",
    description="`month` is `YYYY-MM` in China time (Asia/Shanghai); the current month so far "
    "is allowed, a future one is not. Balances come from the ledger: "
    "`opening + total_in - total_out - total_fees = closing`.",
    responses=MONTH_PROBLEM,
)
async def get_statement(
    month: StatementMonth, s: DbSession, caller: Me, currency: StatementCurrency = "CNY"
) -> StatementOut:
    st = await statement.monthly_statement(
        s, caller.user.id, statement.parse_month(month, clock_of(s).now()), currency
    )
    return statement_out(st)
