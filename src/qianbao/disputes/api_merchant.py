"""A merchant's disputes in its API (D4): read them, answer one with evidence before the
deadline. Authenticated by the merchant's API key, like the rest of the merchant API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from qianbao.disputes import merchant_side
from qianbao.disputes.models import Case
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.kernel.money import Money
from qianbao.merchants.api import Reader, Refunder

router = APIRouter(prefix="/api/v1/merchant/disputes", tags=["merchant API"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]


class AmountOut(BaseModel):
    amount: str
    currency: str


class DisputeOut(BaseModel):
    id: str = Field(description="The case reference (the webhook's data.id)")
    object: str = "dispute"
    payment_id: str
    amount: AmountOut
    charged_back: AmountOut
    status: str = Field(description="under_review, lost (charged back) or won")
    respond_by: datetime | None
    answered_at: datetime | None
    created_at: datetime


class EvidenceIn(BaseModel):
    evidence: str = Field(max_length=4000)


def dispute_out(c: Case) -> DisputeOut:
    def m(minor: int) -> AmountOut:
        return AmountOut(amount=Money(minor, c.currency).to_decimal_string(), currency=c.currency)

    status = (
        "under_review"
        if c.status in ("open", "recommended")
        else ("lost" if c.status == "refunded" and c.recovered_merchant else "won")
    )
    return DisputeOut(
        id=c.reference,
        payment_id=str(c.merchant_payment_id),
        amount=m(c.claimed),
        charged_back=m(c.recovered_merchant),
        status=status,
        respond_by=c.merchant_due_at,
        answered_at=c.merchant_answered_at,
        created_at=c.created_at,
    )


@router.get("", response_model=list[DisputeOut], summary="Disputes of your payments")
async def disputes(s: DbSession, holder: Reader) -> list[DisputeOut]:
    return [dispute_out(c) for c in await merchant_side.of_merchant(s, holder.merchant.id)]


@router.get("/{reference}", response_model=DisputeOut, summary="One dispute")
async def one(reference: str, s: DbSession, holder: Reader) -> DisputeOut:
    return dispute_out(await merchant_side.one(s, holder.merchant.id, reference))


@router.post(
    "/{reference}/evidence", response_model=DisputeOut, summary="Answer with your evidence"
)
async def evidence(reference: str, body: EvidenceIn, s: DbSession, holder: Refunder) -> DisputeOut:
    case = await merchant_side.answer(
        s, holder.merchant.id, reference, evidence=body.evidence, by=None
    )
    return dispute_out(case)
