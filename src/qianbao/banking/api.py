"""JSON for the bank rails.

- ``GET /api/v1/wallet/bank-transfer`` (a signed-in user): where to send a bank transfer and
  the user's reference code for the memo.
- ``/api/v1/bank/...`` (supervisors and admins with two-step verification): import a statement
  file (multipart, field ``file``; larger files than the upload limit go through the watched
  folder or ``qianbao bank import``), the suspense queue, and an item's credit / book /
  approve / reject."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from qianbao.banking import accounts, overview, payout_files, suspense
from qianbao.banking.access import require_finance
from qianbao.banking.importer import import_file
from qianbao.banking.models import StatementLine
from qianbao.identity.deps import Caller, require_ready_caller
from qianbao.kernel.errors import ValidationFailed
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.kernel.money import Money
from qianbao.wallet.bank_reference import reference_of

router = APIRouter(route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


class MoneyOut(BaseModel):
    amount: str
    currency: str


def _money(minor: int, currency: str) -> MoneyOut:
    return MoneyOut(**Money(minor, currency).to_json())


class ReceivingAccountOut(BaseModel):
    holder_name: str
    bank_name: str
    branch: str | None
    account_number: str
    bic: str | None
    currency: str


class ArrivalOut(BaseModel):
    amount: MoneyOut
    booking_date: str = Field(description="The bank's booking day (YYYY-MM-DD)")
    status: str = Field(
        description="in_wallet (credited), or being_checked (an operator looks at it first)"
    )
    transaction_id: str | None = Field(description="The wallet transaction, once credited")


class BankTransferOut(BaseModel):
    reference: str = Field(description="Write this in the transfer's memo (附言/用途).")
    accounts: list[ReceivingAccountOut]
    arrivals: list[ArrivalOut] = Field(
        description="Your bank transfers that arrived, newest first (the last ten)"
    )


@router.get(
    "/api/v1/wallet/bank-transfer",
    response_model=BankTransferOut,
    tags=["wallet"],
    summary="Top up by bank transfer: the receiving accounts and your reference code",
)
async def bank_transfer(s: DbSession, caller: Me) -> BankTransferOut:
    code = await reference_of(s, caller.user.id)
    return BankTransferOut(
        reference=code,
        accounts=[
            ReceivingAccountOut(
                holder_name=a.holder_name,
                bank_name=a.bank_name,
                branch=a.branch,
                account_number=a.account_number,
                bic=a.bic,
                currency=a.currency,
            )
            for a in await accounts.active(s)
        ],
        arrivals=[
            ArrivalOut(
                amount=_money(line.amount, line.currency),
                booking_date=line.booking_date.isoformat(),
                status="in_wallet"
                if line.status == "credited" or line.resolution == "matched"
                else "being_checked",
                transaction_id=str(line.wallet_transaction_id)
                if line.wallet_transaction_id
                else None,
            )
            for line in await overview.lines_of_user(s, caller.user.id, limit=10)
        ],
    )


class ImportOut(BaseModel):
    file_id: str
    filename: str
    kind: str
    statements: int
    lines: int
    already_imported: int
    credited: int
    booked: int
    suspense: int
    # pain.002 status reports only: what the bank said of our payouts
    settled: int = 0
    rejected: int = 0
    accepted: int = 0
    unknown: int = 0


@router.post(
    "/api/v1/bank/statements",
    response_model=ImportOut,
    status_code=201,
    tags=["bank (operators)"],
    summary="Import a statement (camt.053, camt.054, MT940) or a pain.002, as multipart 'file'",
)
async def upload_statement(request: Request, s: DbSession, caller: Me) -> ImportOut:
    require_finance(caller.user)
    form = await request.form(max_files=1, max_fields=2)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ValidationFailed()
    data = await upload.read()
    if payout_files.is_status_report(data):
        report = await payout_files.import_status_report(
            s,
            request.app.state.settings,
            data,
            filename=upload.filename or "status.xml",
            by=caller.user.id,
        )
        return ImportOut(
            file_id=str(report.file_id),
            filename=report.filename,
            kind=report.kind,
            statements=0,
            lines=report.lines,
            already_imported=0,
            credited=0,
            booked=report.booked,
            suspense=0,
            settled=report.settled,
            rejected=report.rejected,
            accepted=report.accepted,
            unknown=report.unknown,
        )
    result = await import_file(
        s,
        request.app.state.settings,
        data,
        filename=upload.filename or "statement",
        source="upload",
        by=caller.user.id,
    )
    return ImportOut(
        file_id=str(result.file_id),
        filename=result.filename,
        kind=result.kind,
        statements=result.statements,
        lines=result.lines,
        already_imported=result.already_imported,
        credited=result.credited,
        booked=result.booked,
        suspense=result.suspense,
    )


class LineOut(BaseModel):
    id: str
    status: str
    reason: str | None
    direction: str
    amount: MoneyOut
    booking_date: date
    remittance: str
    reference: str | None
    counterparty_name: str | None
    counterparty_account: str | None = Field(description="Masked: the last four digits.")
    bank_ref: str
    end_to_end_id: str | None
    proposal: dict[str, Any] | None
    resolution: str | None
    resolution_note: str | None


def line_out(line: StatementLine) -> LineOut:
    last4 = line.counterparty_account_last4
    return LineOut(
        id=str(line.id),
        status=line.status,
        reason=line.reason,
        direction=line.direction,
        amount=_money(line.amount, line.currency),
        booking_date=line.booking_date,
        remittance=line.remittance,
        reference=line.reference,
        counterparty_name=line.counterparty_name,
        counterparty_account=f"•••• {last4}" if last4 else None,
        bank_ref=line.bank_ref,
        end_to_end_id=line.end_to_end_id,
        proposal=line.proposal,
        resolution=line.resolution,
        resolution_note=line.resolution_note,
    )


@router.get(
    "/api/v1/bank/suspense",
    response_model=list[LineOut],
    tags=["bank (operators)"],
    summary="The suspense queue, oldest first",
)
async def suspense_queue(s: DbSession, caller: Me) -> list[LineOut]:
    require_finance(caller.user)
    return [line_out(line) for line in await suspense.queue(s)]


class ActionOut(BaseModel):
    done: bool = Field(description="false: proposed; a second operator must approve it")
    line: LineOut


class CreditIn(BaseModel):
    who: str = Field(max_length=40, description="The user's reference code or phone number")
    note: str = Field(max_length=500)


class BookIn(BaseModel):
    booking: Literal["bank_charges", "bank_interest"]
    note: str = Field(max_length=500)


@router.post(
    "/api/v1/bank/lines/{line_id}/credit",
    response_model=ActionOut,
    tags=["bank (operators)"],
    summary="Credit a suspense item to a wallet (four-eyes above the threshold)",
)
async def credit_line(
    line_id: str, body: CreditIn, request: Request, s: DbSession, caller: Me
) -> ActionOut:
    require_finance(caller.user)
    out = await suspense.credit_to_wallet(
        s, request.app.state.settings, line_id, who=body.who, by=caller.user.id, note=body.note
    )
    return ActionOut(done=out.done, line=line_out(out.line))


@router.post(
    "/api/v1/bank/lines/{line_id}/book",
    response_model=ActionOut,
    tags=["bank (operators)"],
    summary="Book a suspense item to bank charges or interest (four-eyes above the threshold)",
)
async def book_line(
    line_id: str, body: BookIn, request: Request, s: DbSession, caller: Me
) -> ActionOut:
    require_finance(caller.user)
    out = await suspense.book(
        s,
        request.app.state.settings,
        line_id,
        booking=body.booking,
        by=caller.user.id,
        note=body.note,
    )
    return ActionOut(done=out.done, line=line_out(out.line))


class RefundIn(BaseModel):
    note: str = Field(max_length=500)


@router.post(
    "/api/v1/bank/lines/{line_id}/refund",
    response_model=ActionOut,
    tags=["bank (operators)"],
    summary="Send a suspense item back to the payer's account, in the next payout file",
)
async def refund_line(
    line_id: str, body: RefundIn, request: Request, s: DbSession, caller: Me
) -> ActionOut:
    require_finance(caller.user)
    out = await suspense.refund(
        s, request.app.state.settings, line_id, by=caller.user.id, note=body.note
    )
    return ActionOut(done=out.done, line=line_out(out.line))


@router.post(
    "/api/v1/bank/lines/{line_id}/approve",
    response_model=ActionOut,
    tags=["bank (operators)"],
    summary="Approve another operator's proposed action",
)
async def approve_line(line_id: str, request: Request, s: DbSession, caller: Me) -> ActionOut:
    require_finance(caller.user)
    out = await suspense.approve(s, request.app.state.settings, line_id, by=caller.user.id)
    return ActionOut(done=out.done, line=line_out(out.line))


@router.post(
    "/api/v1/bank/lines/{line_id}/reject",
    response_model=ActionOut,
    tags=["bank (operators)"],
    summary="Reject a proposed action (the item stays in suspense)",
)
async def reject_line(line_id: str, s: DbSession, caller: Me) -> ActionOut:
    require_finance(caller.user)
    out = await suspense.reject(s, line_id, by=caller.user.id)
    return ActionOut(done=out.done, line=line_out(out.line))
