"""Operator JSON API for the wallet: the withdrawal review queue and account restrictions
(behind ``QIANBAO_ADMIN__API_TOKEN``; the same actions exist as staff pages under /ops)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import identity_ctx
from qianbao.kernel.errors import NotFound
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of, require_operator
from qianbao.risk import restrictions
from qianbao.wallet import withdrawal_review
from qianbao.wallet.api_payments import WithdrawalOut, withdrawal_out

router = APIRouter(
    prefix="/api/v1/ops",
    tags=["operator"],
    route_class=TxRoute,
    dependencies=[Depends(require_operator)],
)
DbSession = Annotated[Any, Depends(db_session_dep)]


class ReviewIn(BaseModel):
    reason: str = Field(default="", max_length=300)


class OpsWithdrawalOut(WithdrawalOut):
    user_id: str


@router.get("/withdrawals", response_model=list[OpsWithdrawalOut], summary="Withdrawals by status")
async def list_withdrawals(
    request: Request,
    s: DbSession,
    status: Annotated[str, Query(max_length=16)] = "in_review",
) -> list[OpsWithdrawalOut]:
    out = []
    for w in await withdrawal_review.list_by_status(s, (status,)):
        base = await withdrawal_out(s, w, locale_of(request))
        out.append(OpsWithdrawalOut(**base.model_dump(), user_id=str(w.user_id)))
    return out


@router.post(
    "/withdrawals/{withdrawal_id}/approve", response_model=WithdrawalOut, summary="Approve"
)
async def approve(withdrawal_id: str, request: Request, s: DbSession) -> WithdrawalOut:
    w = await withdrawal_review.approve(s, identity_ctx(request), withdrawal_id, actor=None)
    return await withdrawal_out(s, w, locale_of(request))


@router.post(
    "/withdrawals/{withdrawal_id}/reject",
    response_model=WithdrawalOut,
    summary="Reject with a reason the customer reads (hold released, fee not charged)",
)
async def reject(
    withdrawal_id: str, body: ReviewIn, request: Request, s: DbSession
) -> WithdrawalOut:
    w = await withdrawal_review.reject(s, withdrawal_id, actor=None, reason=body.reason)
    return await withdrawal_out(s, w, locale_of(request))


class RestrictionOut(BaseModel):
    user_id: str
    reason: str
    details: str | None
    created_at: datetime


@router.get(
    "/restrictions", response_model=list[RestrictionOut], summary="Accounts restricted for review"
)
async def list_restrictions(s: DbSession) -> list[RestrictionOut]:
    return [
        RestrictionOut(
            user_id=str(r.user_id), reason=r.reason, details=r.details, created_at=r.created_at
        )
        for r in await restrictions.list_active(s)
    ]


@router.post(
    "/restrictions/{user_id}/lift", status_code=200, summary="Lift a restriction after review"
)
async def lift(user_id: str, body: ReviewIn, s: DbSession) -> dict[str, str]:
    try:
        ident = uuid.UUID(user_id)
    except ValueError:
        raise NotFound() from None
    await restrictions.lift(s, ident, actor_id=None, note=body.reason)
    # The frequency rule counts again from now: what came before the review no longer counts.
    return {"status": "lifted", "velocity_window": "restarted"}
