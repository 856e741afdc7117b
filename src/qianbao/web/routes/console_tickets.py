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
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.tickets import service, staff
from qianbao.web.audit_view import details_text
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import redirect
from qianbao.web.routes.console_customers import ACTION_LABELS
from qianbao.web.routes.console_pages import _staff
from qianbao.web.routes.ticket_pages import attachment_response, intake_of, labels, posted
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
QUEUE_LABELS = {
    "mine": N_("Mine"),
    "unassigned": N_("Unassigned"),
    "breaching": N_("Breaching SLA"),
    "all": N_("All open"),
}
NOTICES = {
    "replied": N_("Your answer was added."),
    "emailed": N_("Your answer was added and e-mailed to the customer."),
    "note_added": N_("The internal note was added."),
    "assigned": N_("The assignee was changed."),
    "status": N_("The status was changed."),
    "priority": N_("The priority was changed; the due times follow it."),
    "merged": N_("The tickets were merged."),
    "canned": N_("The canned reply was saved."),
}


def notice_of(request: Request) -> str | None:
    """The console's own notice for the action just done (``?notice=``)."""
    message = NOTICES.get(request.query_params.get("notice") or "")
    return gettext(locale_of(request), message) if message else None


@router.get("/console/tickets", response_class=HTMLResponse)
async def console_tickets(request: Request, queue: str = "mine") -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    queue = queue if queue in staff.QUEUES else "mine"
    s = db_session(request)
    tickets = await staff.queue(s, who.user, queue)
    now = clock_of(s).now()
    return render(
        request,
        "console/tickets.html",
        {
            "queue": queue,
            "queues": [(q, gettext(locale_of(request), QUEUE_LABELS[q])) for q in staff.QUEUES],
            "tickets": [{"t": t, "breaching": staff.breaching(t, now)} for t in tickets],
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
            "linked": await staff.linked_transaction(s, ticket),
            "thread": await service.thread(s, ticket, internal=True),
            "intake": intake_of(ticket, locale),
            "merged_target": await service.merged_target(s, ticket),
            "canned": await staff.canned(s),
            "staff_people": people,
            "events": [
                {
                    "e": e,
                    "action": gettext(locale, ACTION_LABELS.get(f"ticket.{e.action}", e.action)),
                    "details": details_text(e.detail, locale),
                }
                for e in await staff.audit(s, ticket)
            ],
            "breaching": staff.breaching(ticket, clock_of(s).now()),
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
        done = await _act(s, settings, who, ticket, action, values, uploads, locale_of(request))
    except DomainError as exc:
        return await _page(request, who, reference, exc)
    if action == "merge":  # the source is closed: show the ticket everything went to
        return redirect(f"/console/tickets/{done}", notice="merged")
    return redirect(
        f"/console/tickets/{ticket.reference}", notice=action_notice(action, values, ticket)
    )


def action_notice(action: str, values: dict[str, str], ticket: Any) -> str:
    if action == "reply":
        if values.get("internal") == "on":
            return "note_added"
        return "emailed" if ticket.requester_email else "replied"
    return "assigned" if action == "assign" else action


async def _act(
    s: Any, settings: Any, who: Caller, ticket: Any, action: str, values: dict[str, str],
    uploads: list[Any], locale: str,
) -> str:  # fmt: skip
    """Does ``action``; returns the reference of the ticket to show next."""
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
        target = await staff.merge(s, settings, who.user, ticket, values.get("target", ""))
        return str(target.reference)
    elif action == "canned":
        await staff.add_canned(
            s, who.user, title=values.get("title", ""), body_zh=values.get("body_zh", ""),
            body_en=values.get("body_en", ""),
        )  # fmt: skip
    else:
        raise service.TicketNotFound()
    return str(ticket.reference)


@router.get("/console/tickets/{reference}/attachments/{attachment_id}")
async def console_attachment(request: Request, reference: str, attachment_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    ticket = await staff.view(s, who.user, reference)
    return attachment_response(await service.attachment_of(s, ticket, attachment_id, internal=True))
