"""Held transfers in the JSON API: "Was this you?" (D2). A transfer answered 202 with
``status: pending`` waits here for the user's answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, client_ip, identity_ctx, require_caller
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.kernel.money import Money
from qianbao.wallet import held as held_transfers
from qianbao.wallet import held_answers
from qianbao.wallet.models import HeldTransfer

router = APIRouter(prefix="/api/v1/wallet/held", tags=["held transfers"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
# Not "ready": a user whose account got frozen can still read and answer.
Me = Annotated[Caller, Depends(require_caller)]


class HeldOut(BaseModel):
    id: str
    status: Literal["waiting", "confirmed", "denied", "expired"]
    amount: str
    currency: str
    note: str | None
    transaction_id: str
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None


class YesIn(BaseModel):
    code: str = Field(max_length=12, description='The code in the "Was this you?" SMS')


def held_out(h: HeldTransfer) -> HeldOut:
    return HeldOut(
        id=str(h.id),
        status=h.status,
        amount=Money(h.amount, h.currency).to_decimal_string(),
        currency=h.currency,
        note=h.note,
        transaction_id=str(h.transaction_id),
        created_at=h.created_at,
        expires_at=h.expires_at,
        answered_at=h.answered_at,
    )


@router.get("", response_model=list[HeldOut], summary="Transfers waiting for your answer")
async def waiting(s: DbSession, caller: Me) -> list[HeldOut]:
    return [held_out(h) for h in await held_transfers.waiting(s, caller.user.id)]


@router.get("/{held_id}", response_model=HeldOut, summary="One held transfer")
async def one(held_id: uuid.UUID, s: DbSession, caller: Me) -> HeldOut:
    return held_out(await held_transfers.get(s, caller.user.id, held_id))


@router.post(
    "/{held_id}/code", response_model=HeldOut, status_code=202, summary="Send the SMS code again"
)
async def resend(held_id: uuid.UUID, request: Request, s: DbSession, caller: Me) -> HeldOut:
    h = await held_transfers.get(s, caller.user.id, held_id)
    await held_transfers.resend(s, identity_ctx(request), caller.user, h, ip=client_ip(request))
    return held_out(h)


@router.post("/{held_id}/yes", response_model=HeldOut, summary="Yes, it was me: send it")
async def yes(
    held_id: uuid.UUID, body: YesIn, request: Request, s: DbSession, caller: Me
) -> HeldOut:
    h = await held_answers.confirm(
        s, identity_ctx(request), caller.user, held_id, code=body.code, ip=client_ip(request)
    )
    return held_out(h)


@router.post(
    "/{held_id}/no",
    response_model=HeldOut,
    summary="No, it was not me: cancel it and freeze my account",
)
async def no(held_id: uuid.UUID, request: Request, s: DbSession, caller: Me) -> HeldOut:
    h = await held_answers.deny(
        s, identity_ctx(request), caller.user, held_id, ip=client_ip(request)
    )
    return held_out(h)
