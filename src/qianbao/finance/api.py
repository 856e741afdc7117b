"""JSON for the finance console (supervisors and admins with two-step verification, by their
staff session's bearer token).

- ``GET /api/v1/finance/settings?kind=fee|limit|currency|account|calendar`` — the settings in
  force, each with the change waiting for approval (if any);
- ``GET /api/v1/finance/changes?status=pending`` and ``GET /api/v1/finance/changes/{id}``;
- ``POST /api/v1/finance/changes`` — propose: ``{"target", "values", "reason"}``;
- ``POST /api/v1/finance/changes/{id}/approve`` (another operator) and ``.../reject``.

Amounts are decimal strings with their currency; account numbers are masked. Errors are
problem+json (``finance.same_approver``, ``finance.stale``, ``finance.change_pending``, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from qianbao.finance import changes, overview
from qianbao.finance.targets import LIMIT_AMOUNTS
from qianbao.identity.deps import Caller, client_ip, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.kernel.money import Money

router = APIRouter(prefix="/api/v1/finance", tags=["finance (operators)"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]
AMOUNT_FIELDS = (*LIMIT_AMOUNTS, "fixed", "minimum", "maximum", "review_above")
Kind = Literal["fee", "limit", "currency", "account", "calendar", "rate"]


def api_value(target: str, value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Minor units become ``{"amount": "12.34", "currency": "CNY"}``; numbers are masked."""
    shown = changes.masked(value)
    if shown is None:
        return None
    code = overview.currency_of(target, value)
    return {
        k: Money(int(v), code).to_json() if k in AMOUNT_FIELDS and v is not None else v
        for k, v in shown.items()
    }


class SettingOut(BaseModel):
    target: str
    value: dict[str, Any] | None
    pending_change: str | None


class ChangeIn(BaseModel):
    target: str = Field(
        max_length=64,
        description="fee:withdrawal:card, fee:topup:alipay, limit:<tier>:<channel>:<currency>, "
        "currency:<code>, account:<code>, calendar:<year>, rate:<code>",
        examples=["fee:withdrawal:card"],
    )
    values: dict[str, str | bool | list[str] | None] = Field(
        description="The new value's fields as typed: amounts as decimal strings in the "
        'setting\'s currency ("1.00"), percent ("0.1" is 0.1 %), counts, dates (ISO), '
        "enabled / active as booleans.",
        examples=[{"fixed": "2.00", "percent": "0.1", "minimum": "2.00", "maximum": "25.00"}],
    )
    reason: str = Field(max_length=300, description="Why; shown to the approver and audited.")


class ChangeOut(BaseModel):
    id: str
    kind: str
    target: str
    status: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    reason: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None


def change_out(c: Any) -> ChangeOut:
    return ChangeOut(
        id=str(c.id),
        kind=c.kind,
        target=c.target,
        status=c.status,
        before=api_value(c.target, c.before),
        after=api_value(c.target, c.after) or {},
        reason=c.reason,
        proposed_by=str(c.proposed_by),
        proposed_at=c.proposed_at,
        decided_by=str(c.decided_by) if c.decided_by else None,
        decided_at=c.decided_at,
    )


@router.get("/settings", response_model=list[SettingOut], summary="The money settings in force")
async def list_settings(request: Request, s: DbSession, caller: Me, kind: Kind) -> list[SettingOut]:
    found = await overview.section(s, request.app.state.settings, caller.user, kind)
    return [
        SettingOut(
            target=x.target,
            value=api_value(x.target, x.value),
            pending_change=str(x.pending.id) if x.pending else None,
        )
        for x in found
    ]


@router.get("/changes", response_model=list[ChangeOut], summary="Proposed changes")
async def list_changes(
    s: DbSession,
    caller: Me,
    status: Literal["pending", "approved", "rejected"] | None = None,
    kind: Kind | None = None,
    target: Annotated[str | None, Query(max_length=64, description="One setting's history")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ChangeOut]:
    found = await changes.listing(
        s, caller.user, status=status, kind=kind, target=target, limit=limit
    )
    return [change_out(c) for c in found]


@router.get("/changes/{change_id}", response_model=ChangeOut, summary="One change")
async def get_change(change_id: str, s: DbSession, caller: Me) -> ChangeOut:
    return change_out(await changes.get(s, caller.user, change_id))


@router.post(
    "/changes",
    response_model=ChangeOut,
    status_code=201,
    summary="Propose a change; another operator approves it",
)
async def propose(request: Request, body: ChangeIn, s: DbSession, caller: Me) -> ChangeOut:
    change = await changes.propose(
        s,
        request.app.state.settings,
        caller.user,
        target=body.target,
        values=dict(body.values),
        reason=body.reason,
        ip=client_ip(request),
    )
    return change_out(change)


@router.post(
    "/changes/{change_id}/{decision}",
    response_model=ChangeOut,
    summary="Approve (not the proposer: the change applies now) or reject a change",
)
async def decide(
    request: Request,
    change_id: str,
    decision: Literal["approve", "reject"],
    s: DbSession,
    caller: Me,
) -> ChangeOut:
    change = await changes.decide(
        s,
        request.app.state.settings,
        caller.user,
        change_id,
        approve=decision == "approve",
        ip=client_ip(request),
    )
    return change_out(change)
