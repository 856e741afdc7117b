"""The agent console's JSON API (E9), the same as its pages, for staff with two-step verification:
find a customer, read their context (audited), send a help article, escalate; and for
supervisors and admins the escalation queue and the audit log. Under /api/v1/support."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, client_ip, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.support.console import actions, audit, context
from qianbao.wallet.api import MoneyOut, TransactionOut, money, transaction_out

router = APIRouter(prefix="/api/v1/support", tags=["agent console"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Staff = Annotated[Caller, Depends(require_ready_caller)]


class FoundOut(BaseModel):
    user_id: uuid.UUID | None = Field(description="None: a sender known only by e-mail")
    name: str | None
    phone_masked: str | None
    ticket_reference: str | None
    email: str | None


class ContextBalanceOut(BaseModel):
    currency: str
    available: MoneyOut
    pending: MoneyOut
    status: str = Field(description="The wallet's ledger status: active, frozen, …")


class ContextTicketOut(BaseModel):
    reference: str
    subject: str
    category: str
    status: str
    priority: str


class ContextEventOut(BaseModel):
    kind: str
    at: datetime
    ip: str | None


class CustomerContextOut(BaseModel):
    user_id: uuid.UUID
    verified: bool
    name: str | None
    phone_masked: str
    email_verified: bool
    kyc_tier: int
    frozen: bool
    frozen_reason: str | None
    frozen_at: datetime | None
    created_at: datetime
    balances: list[ContextBalanceOut]
    transactions: list[TransactionOut] = Field(description="The last 20, newest first")
    open_tickets: list[ContextTicketOut]
    security_events: list[ContextEventOut]


class ArticleIn(BaseModel):
    slug: str = Field(max_length=80, description="A published article's address")


class ArticleSent(BaseModel):
    link: str


class EscalateIn(BaseModel):
    reason: str = Field(max_length=500)
    user_id: uuid.UUID | None = None
    ticket: str | None = Field(default=None, max_length=20, description="A ticket reference")


class EscalationOut(BaseModel):
    id: uuid.UUID
    status: str
    reason: str
    user_id: uuid.UUID | None
    ticket: str | None
    from_agent_id: uuid.UUID
    taken_by: uuid.UUID | None
    created_at: datetime


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: uuid.UUID
    action: str
    subject_user_id: uuid.UUID | None
    object_kind: str | None
    object_id: str | None
    details: dict[str, Any]
    ip: str | None


def _escalation(e: Any, reference: str | None) -> EscalationOut:
    return EscalationOut(
        id=e.id,
        status=e.status,
        reason=e.reason,
        user_id=e.user_id,
        ticket=reference,
        from_agent_id=e.from_agent_id,
        taken_by=e.taken_by,
        created_at=e.created_at,
    )


@router.get("/customers", response_model=list[FoundOut], summary="Find a customer (audited)")
async def find_customers(
    request: Request, s: DbSession, caller: Staff, q: Annotated[str, Query(max_length=64)]
) -> list[FoundOut]:
    """By phone number, user id or ticket reference."""
    region = request.app.state.settings.identity.default_region
    found = await context.find(s, caller.user, q, region=region, ip=client_ip(request))
    return [FoundOut(**f.__dict__) for f in found]


@router.get(
    "/customers/{user_id}",
    response_model=CustomerContextOut,
    summary="A customer's context (audited)",
)
async def customer_context(
    user_id: uuid.UUID, request: Request, s: DbSession, caller: Staff
) -> CustomerContextOut:
    c = await context.customer_context(s, caller.user, user_id, ip=client_ip(request))
    return CustomerContextOut(
        user_id=c.user_id,
        verified=c.verified,
        name=c.name,
        phone_masked=c.phone_masked,
        email_verified=c.email_verified,
        kyc_tier=c.kyc_tier,
        frozen=c.frozen,
        frozen_reason=c.frozen_reason,
        frozen_at=c.frozen_at,
        created_at=c.created_at,
        balances=[
            ContextBalanceOut(
                currency=b.currency,
                available=money(b.available, b.currency),
                pending=money(b.pending, b.currency),
                status=b.status,
            )
            for b in c.balances
        ],
        transactions=[transaction_out(t) for t in c.transactions],
        open_tickets=[
            ContextTicketOut(
                reference=t.reference,
                subject=t.subject,
                category=t.category,
                status=t.status,
                priority=t.priority,
            )
            for t in c.open_tickets
        ],
        security_events=[
            ContextEventOut(kind=e.kind, at=e.created_at, ip=e.ip) for e in c.security_events
        ],
    )


@router.post(
    "/customers/{user_id}/article",
    response_model=ArticleSent,
    status_code=201,
    summary="Send a published help article to the customer's inbox",
)
async def send_article(
    user_id: uuid.UUID, body: ArticleIn, request: Request, s: DbSession, caller: Staff
) -> ArticleSent:
    link = await actions.send_article(s, caller.user, user_id, body.slug, ip=client_ip(request))
    return ArticleSent(link=link)


@router.post(
    "/escalations",
    response_model=EscalationOut,
    status_code=201,
    summary="Escalate a customer or a ticket to a supervisor",
)
async def escalate(
    body: EscalateIn, request: Request, s: DbSession, caller: Staff
) -> EscalationOut:
    row = await actions.escalate(
        s,
        caller.user,
        reason=body.reason,
        user_id=body.user_id,
        ticket_reference=body.ticket,
        ip=client_ip(request),
    )
    await s.refresh(row)  # the database's created_at
    return _escalation(row, body.ticket.strip().upper() if body.ticket else None)


@router.get(
    "/escalations",
    response_model=list[EscalationOut],
    summary="Escalations, open first (supervisors)",
)
async def escalations(
    s: DbSession, caller: Staff, include_taken: bool = False
) -> list[EscalationOut]:
    rows = await actions.open_escalations(s, caller.user, include_taken=include_taken)
    return [_escalation(e, ref) for e, ref in rows]


@router.post(
    "/escalations/{escalation_id}/take",
    response_model=EscalationOut,
    summary="Take an open escalation (supervisors)",
)
async def take(
    escalation_id: uuid.UUID, request: Request, s: DbSession, caller: Staff
) -> EscalationOut:
    row = await actions.take(s, caller.user, escalation_id, ip=client_ip(request))
    return _escalation(row, None)


@router.get("/audit", response_model=list[AuditOut], summary="The audit log (supervisors)")
async def audit_log(
    s: DbSession,
    caller: Staff,
    actor: uuid.UUID | None = None,
    customer: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditOut]:
    """Newest first, at most 200 entries; `since` inclusive, `until` exclusive."""
    f = audit.AuditFilter(
        actor_id=actor, subject_user_id=customer, action=action, since=since, until=until
    )
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            actor_id=e.actor_id,
            action=e.action,
            subject_user_id=e.subject_user_id,
            object_kind=e.object_kind,
            object_id=e.object_id,
            details=e.details or {},
            ip=e.ip,
        )
        for e in await audit.search(s, caller.user, f)
    ]
