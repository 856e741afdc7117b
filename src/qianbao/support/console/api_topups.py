"""The console's JSON API for stuck top-ups (issue 20), the same as its pages, for staff with
two-step verification: the customer's stuck top-ups, re-query the provider, propose a manual
credit; for supervisors and admins approve or reject one (never their own). Under
/api/v1/support."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, client_ip, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.rails.factory import acquirers_of
from qianbao.support.console import topups
from qianbao.support.console.access import require_staff
from qianbao.support.console.context import customer
from qianbao.wallet import topup_repair
from qianbao.wallet.api import MoneyOut, money

router = APIRouter(prefix="/api/v1/support", tags=["agent console"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Staff = Annotated[Caller, Depends(require_ready_caller)]


class StuckTopupOut(BaseModel):
    id: uuid.UUID
    reference: str = Field(description="The transaction's 18-digit reference")
    amount: MoneyOut
    fee: MoneyOut
    method: str = Field(description="card, alipay or wechatpay")
    provider: str
    status: str = Field(description="pending, or failed (with failure expired)")
    failure: str | None
    created_at: datetime
    stuck: bool = Field(description="Pending longer than 15 minutes, or expired")


class RequeryOut(BaseModel):
    topup: StuckTopupOut
    answer: str = Field(description="The provider's status, or open (not paid yet)")
    before: str


class CreditIn(BaseModel):
    reason: str = Field(max_length=500)
    evidence: str = Field(max_length=1000, description="What shows the customer was charged")


class DecisionIn(BaseModel):
    note: str = Field(default="", max_length=500, description="Required to reject")


class CreditOut(BaseModel):
    id: uuid.UUID
    topup_id: uuid.UUID
    user_id: uuid.UUID
    reference: str
    amount: MoneyOut
    reason: str
    evidence: str
    status: str = Field(description="pending, approved or rejected")
    proposed_by: uuid.UUID
    proposed_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str | None
    outcome: str | None = Field(description="The top-up after approval: succeeded, or failed:…")


def stuck_out(t: Any, reference: str, stuck: bool) -> StuckTopupOut:
    return StuckTopupOut(
        id=t.id,
        reference=reference,
        amount=money(t.amount, t.currency),
        fee=money(t.fee, t.currency),
        method=t.method,
        provider=t.provider,
        status=t.status,
        failure=t.failure,
        created_at=t.created_at,
        stuck=stuck,
    )


def credit_out(c: Any) -> CreditOut:
    return CreditOut(
        id=c.id,
        topup_id=c.topup_id,
        user_id=c.user_id,
        reference=c.reference,
        amount=money(c.amount, c.currency),
        reason=c.reason,
        evidence=c.evidence,
        status=c.status,
        proposed_by=c.proposed_by,
        proposed_at=c.proposed_at,
        decided_by=c.decided_by,
        decided_at=c.decided_at,
        decision_note=c.decision_note,
        outcome=c.outcome,
    )


@router.get(
    "/customers/{user_id}/topups",
    response_model=list[StuckTopupOut],
    summary="The customer's pending or expired top-ups (an agent may act on them)",
)
async def customer_topups(user_id: uuid.UUID, s: DbSession, caller: Staff) -> list[StuckTopupOut]:
    require_staff(caller.user)
    user = await customer(s, user_id)
    return [
        stuck_out(x.topup, x.reference, x.stuck) for x in await topup_repair.of_customer(s, user.id)
    ]


@router.post(
    "/topups/{topup_id}/requery",
    response_model=RequeryOut,
    summary="Ask the provider again where a stuck top-up stands and apply its answer (audited)",
)
async def requery(topup_id: uuid.UUID, request: Request, s: DbSession, caller: Staff) -> RequeryOut:
    done = await topups.requery(
        s, acquirers_of(request), caller.user, topup_id, ip=client_ip(request)
    )
    t = done.topup
    reference = await topup_repair.reference_of(s, t)
    return RequeryOut(
        topup=stuck_out(t, reference, topup_repair.can_act(t)),
        answer=done.answer,
        before=done.before,
    )


@router.post(
    "/topups/{topup_id}/credits",
    response_model=CreditOut,
    status_code=201,
    summary="Propose crediting a stuck top-up by hand (another staff member approves)",
)
async def propose_credit(
    topup_id: uuid.UUID, body: CreditIn, request: Request, s: DbSession, caller: Staff
) -> CreditOut:
    row = await topups.propose(
        s, caller.user, topup_id, reason=body.reason, evidence=body.evidence, ip=client_ip(request)
    )
    return credit_out(row)


@router.get(
    "/topup-credits",
    response_model=list[CreditOut],
    summary="Manual credits: pending ones oldest first (the approvers' queue)",
)
async def credits(
    s: DbSession, caller: Staff, status: Literal["pending", "approved", "rejected"] = "pending"
) -> list[CreditOut]:
    return [credit_out(c) for c in await topups.listing(s, caller.user, status=status)]


@router.post(
    "/topup-credits/{credit_id}/{decision}",
    response_model=CreditOut,
    summary="Approve (a supervisor or admin, not the proposer) or reject a manual credit",
)
async def decide_credit(
    credit_id: uuid.UUID,
    decision: Literal["approve", "reject"],
    request: Request,
    s: DbSession,
    caller: Staff,
    body: DecisionIn | None = None,
) -> CreditOut:
    row = await topups.decide(
        s,
        caller.user,
        credit_id,
        approve=decision == "approve",
        note=body.note if body else "",
        ip=client_ip(request),
    )
    return credit_out(row)
