"""The ticket JSON API under /api/v1/support/tickets: customers' own tickets, and staff
endpoints (support agents, supervisors, admins with two-step verification) under ``/staff``.
Attachments are added through the pages (multipart); the API lists them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from qianbao.identity.deps import Caller, require_ready_caller
from qianbao.kernel.clock import clock_of
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of, settings_of
from qianbao.support.tickets import service, staff, transcript
from qianbao.support.tickets.models import Ticket
from qianbao.support.tickets.schemas import (
    AssignIn,
    AttachmentOut,
    CannedIn,
    CannedOut,
    MergeIn,
    MessageIn,
    MessageOut,
    PriorityIn,
    StaffMessageIn,
    StaffTicketOut,
    StatusIn,
    TicketCreate,
    TicketDetail,
    TicketOut,
    TranscriptSent,
)

router = APIRouter(prefix="/api/v1/support/tickets", tags=["tickets"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


def _out(t: Ticket, merged: str | None = None) -> dict[str, Any]:
    return {
        "reference": t.reference,
        "subject": t.subject,
        "category": t.category,
        "intake": t.intake,
        "transaction_id": str(t.transaction_id) if t.transaction_id else None,
        "status": t.status,
        "priority": t.priority,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "merged_into": merged,
    }


async def _messages(s: Any, t: Ticket, *, internal: bool) -> list[MessageOut]:
    return [
        MessageOut(
            id=str(i.message.id),
            author=i.message.author_kind,
            body=i.message.body,
            internal=i.message.internal,
            via=i.message.via,
            created_at=i.message.created_at,
            attachments=[
                AttachmentOut(
                    id=str(a.id), filename=a.filename, content_type=a.content_type, size=a.size
                )
                for a in i.attachments
            ],
        )
        for i in await service.thread(s, t, internal=internal)
    ]


async def _detail(s: Any, t: Ticket) -> TicketDetail:
    return TicketDetail(
        **_out(t, await service.merged_target(s, t)),
        messages=await _messages(s, t, internal=False),
    )


async def _staff_detail(s: Any, t: Ticket) -> StaffTicketOut:
    return StaffTicketOut(
        **_out(t, await service.merged_target(s, t)),
        messages=await _messages(s, t, internal=True),
        user_id=str(t.user_id) if t.user_id else None,
        requester_email=t.requester_email,
        assignee_id=str(t.assignee_id) if t.assignee_id else None,
        first_response_due=t.first_response_due,
        resolution_due=t.resolution_due,
        first_responded_at=t.first_responded_at,
        breaching=staff.breaching(t, clock_of(s).now()),
    )


@router.get("", response_model=list[TicketOut], summary="My tickets, newest first")
async def my_tickets(s: DbSession, caller: Me) -> list[TicketOut]:
    return [TicketOut(**_out(t)) for t in await service.my_tickets(s, caller.user.id)]


@router.post("", response_model=TicketDetail, status_code=201, summary="Open a ticket")
async def create(body: TicketCreate, request: Request, s: DbSession, caller: Me) -> TicketDetail:
    t = await service.create_for_user(
        s, settings_of(request), caller.user, service.NewTicket(**body.model_dump()),
        channel="api",
    )  # fmt: skip
    return await _detail(s, t)


@router.get("/{reference}", response_model=TicketDetail, summary="One of my tickets")
async def mine(reference: str, s: DbSession, caller: Me) -> TicketDetail:
    return await _detail(s, await service.my_ticket(s, caller.user.id, reference))


@router.post("/{reference}/messages", response_model=TicketDetail, status_code=201, summary="Reply")
async def reply(
    reference: str, body: MessageIn, request: Request, s: DbSession, caller: Me
) -> TicketDetail:
    t = await service.my_ticket(s, caller.user.id, reference)
    await service.customer_reply(s, settings_of(request), caller.user.id, t, body.body, via="api")
    return await _detail(s, t)


@router.get(
    "/{reference}/transcript",
    response_class=PlainTextResponse,
    summary="The conversation as plain text (internal notes left out)",
)
async def transcript_text(
    reference: str, request: Request, s: DbSession, caller: Me
) -> PlainTextResponse:
    t = await service.my_ticket(s, caller.user.id, reference)
    return PlainTextResponse(await transcript.as_text(s, t, locale_of(request)))


@router.post(
    "/{reference}/transcript/email",
    response_model=TranscriptSent,
    status_code=202,
    summary="E-mail me the transcript (at my verified address)",
)
async def transcript_mail(
    reference: str, request: Request, s: DbSession, caller: Me
) -> TranscriptSent:
    t = await service.my_ticket(s, caller.user.id, reference)
    return TranscriptSent(
        sent_to=await staff.email_transcript(s, caller.user, t, locale_of(request))
    )


# -- staff -----------------------------------------------------------------------------------
@router.get("/staff/queue", response_model=list[StaffTicketOut], summary="A queue (staff)")
async def staff_queue(
    s: DbSession,
    caller: Me,
    queue: Annotated[str, Query(pattern="^(mine|unassigned|breaching|all)$")] = "mine",
) -> list[StaffTicketOut]:
    return [await _staff_detail(s, t) for t in await staff.queue(s, caller.user, queue)]


@router.get("/staff/canned", response_model=list[CannedOut], summary="Canned replies (staff)")
async def staff_canned(s: DbSession, caller: Me) -> list[CannedOut]:
    staff.require_staff(caller.user)
    return [
        CannedOut(id=c.id, title=c.title, body_zh=c.body_zh, body_en=c.body_en)
        for c in await staff.canned(s)
    ]


@router.post(
    "/staff/canned", response_model=CannedOut, status_code=201, summary="Add a canned reply"
)
async def staff_add_canned(body: CannedIn, s: DbSession, caller: Me) -> CannedOut:
    c = await staff.add_canned(s, caller.user, **body.model_dump())
    return CannedOut(id=c.id, title=c.title, body_zh=c.body_zh, body_en=c.body_en)


@router.get(
    "/staff/{reference}", response_model=StaffTicketOut, summary="A ticket (staff, audited)"
)
async def staff_get(reference: str, s: DbSession, caller: Me) -> StaffTicketOut:
    return await _staff_detail(s, await staff.view(s, caller.user, reference))


@router.post(
    "/staff/{reference}/messages",
    response_model=StaffTicketOut,
    status_code=201,
    summary="Reply to the customer (e-mailed when there is an address) or add an internal note",
)
async def staff_reply(
    reference: str, body: StaffMessageIn, request: Request, s: DbSession, caller: Me
) -> StaffTicketOut:
    t = await staff.view(s, caller.user, reference)
    await staff.reply(s, settings_of(request), caller.user, t, body.body,
                      internal=body.internal, status=body.status)  # fmt: skip
    return await _staff_detail(s, t)


@router.post("/staff/{reference}/assign", response_model=StaffTicketOut, summary="Assign")
async def staff_assign(reference: str, body: AssignIn, s: DbSession, caller: Me) -> StaffTicketOut:
    t = await staff.view(s, caller.user, reference)
    await staff.assign(s, caller.user, t, body.assignee_id)
    return await _staff_detail(s, t)


@router.post("/staff/{reference}/status", response_model=StaffTicketOut, summary="Set status")
async def staff_status(
    reference: str, body: StatusIn, request: Request, s: DbSession, caller: Me
) -> StaffTicketOut:
    t = await staff.view(s, caller.user, reference)
    await staff.set_status(s, settings_of(request), caller.user, t, body.status)
    return await _staff_detail(s, t)


@router.post("/staff/{reference}/priority", response_model=StaffTicketOut, summary="Priority")
async def staff_priority(
    reference: str, body: PriorityIn, request: Request, s: DbSession, caller: Me
) -> StaffTicketOut:
    t = await staff.view(s, caller.user, reference)
    await staff.set_priority(s, settings_of(request), caller.user, t, body.priority)
    return await _staff_detail(s, t)


@router.post(
    "/staff/{reference}/merge",
    response_model=StaffTicketOut,
    summary="Merge into another ticket of the same customer; returns the target",
)
async def staff_merge(
    reference: str, body: MergeIn, request: Request, s: DbSession, caller: Me
) -> StaffTicketOut:
    t = await staff.view(s, caller.user, reference)
    target = await staff.merge(s, settings_of(request), caller.user, t, body.target)
    return await _staff_detail(s, target)
