"""JSON: /api/v1/support/reports (supervisors and admins with two-step verification),
/api/v1/support/customers/{id}/freeze|unfreeze (staff; unfreezing is for supervisors) and
/api/v1/support/tickets/{reference}/rating (the ticket's customer, once it is resolved)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from qianbao.identity.deps import Caller, client_ip, require_ready_caller
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import ValidationFailed
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.support.console import actions, audit, ratings, reports
from qianbao.support.console.access import require_supervisor
from qianbao.support.console.schemas import (
    AgentOut,
    BusinessOut,
    CategoryOut,
    ChatOut,
    ComplianceOut,
    DurationsOut,
    RatingIn,
    RatingOut,
    ReasonIn,
    ReportOut,
)

router = APIRouter(prefix="/api/v1/support", tags=["support reports"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


def to_out(r: reports.Report) -> ReportOut:
    assert r.business is not None
    assert r.chat is not None
    b, c = r.business, r.chat
    return ReportOut(
        business_hours=BusinessOut(
            first_response=DurationsOut(**b.first_response.__dict__),
            resolution=DurationsOut(**b.resolution.__dict__),
            first_response_sla=ComplianceOut(
                due=b.first_response_sla.due,
                met=b.first_response_sla.met,
                percent=b.first_response_sla.percent,
            ),
            resolution_sla=ComplianceOut(
                due=b.resolution_sla.due,
                met=b.resolution_sla.met,
                percent=b.resolution_sla.percent,
            ),
        ),
        chat=ChatOut(
            conversations=c.conversations,
            handed_off=c.handed_off,
            with_agent=c.with_agent,
            to_ticket=c.to_ticket,
            bot_only=c.bot_only,
            wait=DurationsOut(**c.wait.__dict__),
            first_reply=DurationsOut(**c.first_reply.__dict__),
        ),
        start=r.start,
        end=r.end,
        tickets=r.tickets,
        first_response=DurationsOut(**r.first_response.__dict__),
        resolution=DurationsOut(**r.resolution.__dict__),
        csat_average=r.csat_average,
        csat_count=r.csat_count,
        csat_chat_count=r.csat_chat_count,
        csat_by_score={str(k): v for k, v in sorted(r.csat_by_score.items())},
        by_category=[CategoryOut(category=c, tickets=n) for c, n in r.by_category],
        by_agent=[
            AgentOut(
                agent_id=str(a.agent_id) if a.agent_id else None,
                name=a.name,
                tickets=a.tickets,
                resolved=a.resolved,
                median_first_response_minutes=a.median_first_response_minutes,
                csat_average=a.csat_average,
                csat_count=a.csat_count,
                chats=a.chats,
                median_chat_first_reply_minutes=a.median_chat_first_reply_minutes,
            )
            for a in r.by_agent
        ],
    )


REPORT_YEARS = (2000, 9998)


@router.get("/reports", response_model=ReportOut, summary="Support reports (supervisors)")
async def report(
    request: Request,
    s: DbSession,
    caller: Me,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
) -> ReportOut:
    """First-response and resolution times (median, p90, minutes), CSAT and volume by category
    and per agent for the tickets opened between ``start`` and ``end`` (local days, inclusive;
    default: the last 30 days)."""
    require_supervisor(caller.user)  # who asks comes before anything they sent is used
    low, high = REPORT_YEARS
    if any(d is not None and not low <= d.year <= high for d in (start, end)):
        raise ValidationFailed()
    last = end or clock_of(s).today()
    first = start or last - timedelta(days=29)
    built = await reports.build(s, caller.user, first, last, settings=request.app.state.settings)
    ip = client_ip(request)
    await audit.record(
        s,
        caller.user,
        "report.viewed",
        ip=ip,
        details={"start": first.isoformat(), "end": last.isoformat()},
    )
    return to_out(built)


@router.post(
    "/tickets/{reference}/rating",
    response_model=RatingOut,
    status_code=201,
    summary="Rate a resolved ticket (its customer, once)",
)
async def rate(reference: str, body: RatingIn, s: DbSession, caller: Me) -> RatingOut:
    rating = await ratings.rate_ticket(s, caller.user, reference, body.score, body.comment)
    return RatingOut(ticket=reference, score=rating.score, comment=rating.comment)


@router.post(
    "/customers/{user_id}/freeze",
    status_code=204,
    summary="Freeze a customer's account with a reason (staff with two-step verification)",
)
async def freeze(
    user_id: uuid.UUID, body: ReasonIn, request: Request, s: DbSession, caller: Me
) -> Response:
    """Every ledger account of the customer is frozen too; the customer gets an SMS; the action
    and its reason go to the audit log."""
    ip = client_ip(request)
    await actions.freeze_account(
        s, request.app.state.identity, caller.user, user_id, body.reason, ip=ip
    )
    return Response(status_code=204)


@router.post(
    "/customers/{user_id}/unfreeze",
    status_code=204,
    summary="Unfreeze a customer's account (supervisors and admins)",
)
async def unfreeze(
    user_id: uuid.UUID, body: ReasonIn, request: Request, s: DbSession, caller: Me
) -> Response:
    """The reason says how the customer was checked. It starts the 72-hour cooling-off for
    withdrawals to new cards; the customer gets an SMS; the action goes to the audit log."""
    ip = client_ip(request)
    await actions.unfreeze_account(
        s, request.app.state.identity, caller.user, user_id, body.reason, ip=ip
    )
    return Response(status_code=204)
