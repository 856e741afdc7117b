"""JSON for payout files and the operator's books (supervisors and admins with two-step
verification; each file records who made, approved and released it).

- ``GET /api/v1/bank/payout-batches``: the payout files, newest first, and how many
  withdrawals wait for the next file.
- ``POST /api/v1/bank/payout-batches``: make the files (one per currency) of every queued
  withdrawal; each is checked against the pain.001.001.09 XSD before it is stored.
- ``POST /api/v1/bank/payout-batches/{id}/approve``: a second operator approves a file.
- ``POST /api/v1/bank/payout-batches/{id}/release``: the approved file for the bank
  (``application/xml``); the first call releases its withdrawals, later calls give the same
  bytes.
- ``GET /api/v1/bank/safeguarding``: today's safeguarding report per currency.
- ``GET /api/v1/bank/trial-balance``: the ledger's balances per account kind and currency.

The bank's pain.002 status report is uploaded like a statement, to ``POST
/api/v1/bank/statements``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from qianbao.banking import payout_files, safeguarding
from qianbao.banking.access import require_finance
from qianbao.banking.api import MoneyOut, _money
from qianbao.banking.models import PayoutBatch
from qianbao.identity.deps import Caller, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.ledger import Ledger
from qianbao.ledger.accounts import trial_balance

router = APIRouter(route_class=TxRoute, tags=["bank (operators)"])
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


class BatchOut(BaseModel):
    id: str
    message_id: str
    status: str
    currency: str
    count: int
    control_sum: MoneyOut
    execution_date: date
    sha256: str
    created_by: str
    approved_by: str | None
    released_by: str | None


class BatchesOut(BaseModel):
    queued: int
    batches: list[BatchOut]


def batch_out(b: PayoutBatch) -> BatchOut:
    return BatchOut(
        id=str(b.id),
        message_id=b.message_id,
        status=b.status,
        currency=b.currency,
        count=b.count,
        control_sum=_money(b.control_sum, b.currency),
        execution_date=b.execution_date,
        sha256=b.sha256,
        created_by=str(b.created_by),
        approved_by=str(b.approved_by) if b.approved_by else None,
        released_by=str(b.released_by) if b.released_by else None,
    )


@router.get("/api/v1/bank/payout-batches", response_model=BatchesOut, summary="Payout files")
async def list_batches(s: DbSession, caller: Me) -> BatchesOut:
    require_finance(caller.user)
    return BatchesOut(
        queued=await payout_files.queued_count(s),
        batches=[batch_out(b) for b in await payout_files.recent(s)],
    )


@router.post(
    "/api/v1/bank/payout-batches",
    response_model=list[BatchOut],
    status_code=201,
    summary="Make the payout files of the queued withdrawals (one per currency)",
)
async def create_batches(request: Request, s: DbSession, caller: Me) -> list[BatchOut]:
    require_finance(caller.user)
    made = await payout_files.create_batches(s, request.app.state.settings, by=caller.user.id)
    return [batch_out(b) for b in made]


@router.post(
    "/api/v1/bank/payout-batches/{batch_id}/approve",
    response_model=BatchOut,
    summary="Approve a payout file (not the operator who made it)",
)
async def approve_batch(batch_id: str, s: DbSession, caller: Me) -> BatchOut:
    require_finance(caller.user)
    b = await payout_files.approve(s, batch_id, by=caller.user.id)
    return batch_out(b)


@router.post(
    "/api/v1/bank/payout-batches/{batch_id}/release",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
    summary="The approved pain.001 file for the bank; releases its withdrawals",
)
async def release_batch(batch_id: str, s: DbSession, caller: Me) -> Response:
    require_finance(caller.user)
    b = await payout_files.release(s, batch_id, by=caller.user.id)
    return Response(
        b.document.encode("utf-8"),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{b.message_id}.xml"'},
    )


class ReportOut(BaseModel):
    day: date
    currency: str
    lines: dict[str, MoneyOut]
    expected: MoneyOut
    bank: MoneyOut
    notified: MoneyOut
    unexplained: MoneyOut
    accounts: int


@router.get(
    "/api/v1/bank/safeguarding",
    response_model=list[ReportOut],
    summary="Today's safeguarding report per currency",
)
async def safeguarding_report(s: DbSession, caller: Me) -> list[ReportOut]:
    require_finance(caller.user)
    return [
        ReportOut(
            day=r.day,
            currency=r.currency,
            lines={k: _money(v, r.currency) for k, v in r.lines.items()},
            expected=_money(r.expected, r.currency),
            bank=_money(r.bank, r.currency),
            notified=_money(r.notified, r.currency),
            unexplained=_money(r.unexplained, r.currency),
            accounts=r.accounts,
        )
        for r in await safeguarding.build(s)
    ]


class TrialRowOut(BaseModel):
    kind: str
    code: str | None
    accounts: int
    posted: MoneyOut
    pending_out: MoneyOut
    pending_in: MoneyOut


@router.get(
    "/api/v1/bank/trial-balance",
    response_model=list[TrialRowOut],
    summary="The ledger's trial balance (per account kind, code and currency)",
)
async def trial(s: DbSession, caller: Me) -> list[TrialRowOut]:
    require_finance(caller.user)
    ledger = await Ledger.of_session(s)
    return [
        TrialRowOut(
            kind=r["kind"],
            code=r["code"],
            accounts=r["accounts"],
            posted=_money(r["posted"], r["currency"]),
            pending_out=_money(r["pending_out"], r["currency"]),
            pending_in=_money(r["pending_in"], r["currency"]),
        )
        for r in await trial_balance(ledger.conn)
    ]
