"""The agent console's ticket desk (support agents, supervisors, admins with two-step
verification): queues (mine, unassigned, breaching the SLA, all), a ticket with its thread and
internal notes, canned replies, assignment, status, priority and merge. Every read and every
action is written to the ticket's audit trail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.tickets import intake, service, staff
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import notice_of, redirect
from qianbao.web.routes.console_pages import _staff
from qianbao.web.routes.ticket_pages import attachment_response, labels, posted
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
QUEUE_LABELS = {
    "mine": N_("Mine"),
    "unassigned": N_("Unassigned"),
    "breaching": N_("Breaching SLA"),
    "all": N_("All open"),
}


@router.get("/console/tickets", response_class=HTMLResponse)
async def console_tickets(request: Request, queue: str = "mine") -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    queue = queue if queue in staff.QUEUES else "mine"
    s = db_session(request)
    tickets = await staff.queue(s, who.user, queue)
    return render(
        request,
        "console/tickets.html",
        {
            "queue": queue,
            "queues": [(q, gettext(locale_of(request), QUEUE_LABELS[q])) for q in staff.QUEUES],
            "tickets": [{"t": t, "breaching": staff.breaching(t)} for t in tickets],
            "labels": labels(locale_of(request)),
            "notice": notice_of(request),
        },
    )


async def _page(
    request: Request, who: Caller, reference: str, exc: DomainError | None = None
) -> Response:
    s, locale = db_session(request), locale_of(request)
    ticket = await staff.view(s, who.user, reference)
    requester = await staff.requester(s, ticket)
    people = {str(p.id): p.real_name or p.phone for p in await staff.staff_members(s)}
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "console/ticket.html",
        {
            "ticket": ticket,
            "requester": requester,
            "thread": await service.thread(s, ticket, internal=True),
            "intake": [
                (gettext(locale, k), gettext(locale, v))
                for k, v in intake.intake_lines(ticket.category, ticket.intake)
            ],
            "merged_target": await service.merged_target(s, ticket),
            "canned": await staff.canned(s),
            "staff_people": people,
            "events": await staff.audit(s, ticket),
            "breaching": staff.breaching(ticket),
            "labels": labels(locale),
            "settable": staff.SETTABLE,
            "problem": problem,
            "notice": notice_of(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/tickets/{reference}", response_class=HTMLResponse)
async def console_ticket(request: Request, reference: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _page(request, who, reference)


@router.post("/console/tickets/{reference}/{action}", response_class=HTMLResponse)
async def console_action(request: Request, reference: str, action: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s, settings = db_session(request), request.app.state.settings
    ticket = await service.any_ticket(s, reference)
    values, uploads = await posted(request)
    try:
        await _act(s, settings, who, ticket, action, values, uploads, locale_of(request))
    except DomainError as exc:
        return await _page(request, who, reference, exc)
    return redirect(f"/console/tickets/{ticket.reference}", notice="preferences_saved")


async def _act(
    s: Any, settings: Any, who: Caller, ticket: Any, action: str, values: dict[str, str],
    uploads: list[Any], locale: str,
) -> None:  # fmt: skip
    if action == "reply":
        body = values.get("body", "")
        if values.get("canned") and not body.strip():
            body = await staff.canned_text(s, values["canned"], locale)
        await staff.reply(
            s, settings, who.user, ticket, body, uploads,
            internal=values.get("internal") == "on", status=values.get("status") or None,
        )  # fmt: skip
    elif action == "assign":
        assignee = values.get("assignee", "")
        await staff.assign(s, who.user, ticket, str(who.user.id) if assignee == "me" else assignee)
    elif action == "status":
        await staff.set_status(s, settings, who.user, ticket, values.get("status", ""))
    elif action == "priority":
        await staff.set_priority(s, settings, who.user, ticket, values.get("priority", ""))
    elif action == "merge":
        await staff.merge(s, settings, who.user, ticket, values.get("target", ""))
    elif action == "canned":
        await staff.add_canned(
            s, who.user, title=values.get("title", ""), body_zh=values.get("body_zh", ""),
            body_en=values.get("body_en", ""),
        )  # fmt: skip
    else:
        raise service.TicketNotFound()


@router.get("/console/tickets/{reference}/attachments/{attachment_id}")
async def console_attachment(request: Request, reference: str, attachment_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    ticket = await staff.view(s, who.user, reference)
    return attachment_response(await service.attachment_of(s, ticket, attachment_id, internal=True))
