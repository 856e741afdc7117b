"""The agent console's desk (E9, E10): /console (queues across channels), /console/escalations,
/console/audit and /console/reports (supervisors, admins), and the customer's CSAT form
(/support/ratings). The customer pages are in console_customers. Staff need two-step
verification; every read of customer data and every action goes to the audit log."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.http import TxRoute, clock_of_app, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.chat import desk as chat_desk
from qianbao.support.console import actions, audit, ratings, reports
from qianbao.support.console.access import is_supervisor
from qianbao.support.tickets import staff as ticket_staff
from qianbao.web.audit_view import ids_in
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, current_caller, login_redirect, redirect
from qianbao.web.routes.console_customers import ACTION_LABELS, audit_entry
from qianbao.web.routes.console_pages import _staff
from qianbao.web.routes.ops_pages import _operator
from qianbao.web.routes.ticket_pages import labels, posted
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
DESK_NOTICES = {  # the customer page's notices live in console_customers
    "taken": N_("The escalation is yours."),
}
QUEUES = (
    ("mine", N_("My tickets")),
    ("unassigned", N_("Unassigned")),
    ("breaching", N_("Breaching SLA")),
)


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), DESK_NOTICES[key]) if key in DESK_NOTICES else None


def _problem(request: Request, exc: DomainError | None) -> Any:
    return domain_problem(exc, locale_of(request)) if exc else None


@router.get("/console", response_class=HTMLResponse)
async def desk(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s, locale = db_session(request), locale_of(request)
    queues = []
    for key, name in QUEUES:
        rows = await ticket_staff.queue(s, who.user, key)
        queues.append(
            {"key": key, "name": gettext(locale, name), "tickets": rows[:10], "count": len(rows)}
        )
    return render(
        request,
        "console/desk.html",
        {
            "queues": queues,
            "labels": labels(locale),
            "chats_waiting": await _chats_waiting(s),
            "supervisor": is_supervisor(who.user),
        },
    )


async def _chats_waiting(s: Any) -> int | None:
    """Chats waiting for an agent (queued for hand-off to a person)."""
    return int(await chat_desk.queued_count(s))


@router.get("/console/escalations", response_class=HTMLResponse)
async def escalations(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    return await _escalations_page(request, who)


async def _escalations_page(
    request: Request, who: Caller, exc: DomainError | None = None
) -> Response:
    s = db_session(request)
    rows = await actions.open_escalations(s, who.user, include_taken=True)
    names = await audit.people(
        s,
        {e.from_agent_id for e, _ in rows}
        | {e.user_id for e, _ in rows}
        | {e.taken_by for e, _ in rows},
    )
    problem = _problem(request, exc)
    return render(
        request,
        "console/escalations.html",
        {"rows": rows, "names": names, "notice": _notice(request), "problem": problem},
        status_code=problem.status if problem else 200,
    )


@router.post("/console/escalations/{escalation_id}/take", response_class=HTMLResponse)
async def take_escalation(request: Request, escalation_id: str) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    await posted(request)
    try:
        await actions.take(db_session(request), who.user, escalation_id, ip=client_ip(request))
    except DomainError as exc:
        return await _escalations_page(request, who, exc)
    return redirect("/console/escalations", notice="taken")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.get("/console/audit", response_class=HTMLResponse)
async def audit_page(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    s, locale, qp = db_session(request), locale_of(request), request.query_params
    start, end = _day(qp.get("start")), _day(qp.get("end"))
    f = audit.AuditFilter(
        actor_id=_uuid(qp.get("actor")),
        subject_user_id=_uuid(qp.get("customer")),
        action=(qp.get("action") or "")[:40] or None,
        since=datetime.combine(start, datetime.min.time(), LOCAL_TZ) if start else None,
        until=datetime.combine(end + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
        if end
        else None,
    )
    entries = await audit.search(s, who.user, f)
    staff_people = await ticket_staff.staff_members(s)
    names = await audit.people(
        s,
        [e.actor_id for e in entries]
        + [e.subject_user_id for e in entries]
        + list(ids_in(entries)),
    )
    return render(
        request,
        "console/audit.html",
        {
            "entries": [audit_entry(e, names, locale) for e in entries],
            "staff_people": staff_people,
            "action_choices": [
                (a, gettext(locale, ACTION_LABELS.get(a, a))) for a in await audit.actions(s)
            ],
            "f": {
                k: (qp.get(k) or "")[:64] for k in ("actor", "customer", "action", "start", "end")
            },
        },
    )


def report_range(request: Request) -> tuple[date, date]:
    today = clock_of_app(request).today()
    end = _day(request.query_params.get("end")) or today
    start = _day(request.query_params.get("start")) or end - timedelta(days=29)
    return start, end


@router.get("/console/reports", response_class=HTMLResponse)
async def reports_page(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    s, locale = db_session(request), locale_of(request)
    start, end = report_range(request)
    problem, report = None, None
    try:
        report = await reports.build(s, who.user, start, end, settings=request.app.state.settings)
    except DomainError as exc:
        problem = _problem(request, exc)
    else:
        await audit.record(
            s,
            who.user,
            "report.viewed",
            ip=client_ip(request),
            details={"start": start.isoformat(), "end": end.isoformat()},
        )
    cat = labels(locale)["category"]
    charts = {}
    if report is not None:
        charts = {
            "category": reports.bars([(cat.get(c, c), float(n)) for c, n in report.by_category]),
            "agent": reports.bars(
                [
                    (
                        a.name
                        or (gettext(locale, N_("Unassigned")) if a.agent_id is None else "—"),
                        float(a.tickets),
                    )
                    for a in report.by_agent
                    if a.tickets
                ]
            ),
            "chat": reports.bars(
                [
                    (gettext(locale, label), float(value))
                    for label, value in (
                        (N_("Bot only"), report.chat.bot_only),
                        (N_("Taken by an agent"), report.chat.with_agent),
                        (N_("Became a ticket"), report.chat.to_ticket),
                    )
                ]
            )
            if report.chat and report.chat.conversations
            else [],
            "csat": reports.bars(
                [(f"{k}★", float(v)) for k, v in sorted(report.csat_by_score.items())]
            ),
        }
    return render(
        request,
        "console/reports.html",
        {
            "r": report,
            "start": start,
            "end": end,
            "charts": charts,
            "labels": labels(locale),
            "problem": problem,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/support/ratings", response_class=HTMLResponse)
async def rating_form(request: Request, ticket: str = "") -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    t, rating = await ratings.ticket_rating(db_session(request), caller.user, ticket)
    return render(
        request,
        "support/_rating.html",
        {"ticket": t, "rating": rating, "can_rate": ratings.can_rate(t), "loaded": True},
        block="rating",
    )


@router.post("/support/ratings", response_class=HTMLResponse)
async def rate(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    values, _ = await posted(request)
    s, reference = db_session(request), values.get("ticket", "")
    problem = None
    try:
        await ratings.rate_ticket(
            s, caller.user, reference, values.get("score", ""), values.get("comment")
        )
    except DomainError as exc:
        if exc.kind == ErrorKind.NOT_FOUND:
            raise
        problem = _problem(request, exc)
    if request.headers.get("hx-request") != "true":  # without JavaScript: back to the ticket
        return redirect(f"/support/tickets/{reference}", anchor="rating")
    t, rating = await ratings.ticket_rating(s, caller.user, reference)
    return render(
        request,
        "support/_rating.html",
        {
            "ticket": t,
            "rating": rating,
            "can_rate": ratings.can_rate(t),
            "loaded": True,
            "rating_problem": problem,
        },
        block="rating",
        status_code=problem.status if problem else 200,
    )
