"""The customer's ticket pages (E5, E6, E7): /support/tickets (my tickets), /support/tickets/new
(category -> its intake fields, an optional transaction from the history, attachments) and
/support/tickets/{ref} (the conversation, reply, attachments, transcript download or e-mail).
Another user's ticket is simply not found."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.channels import callbacks, hours
from qianbao.support.tickets import intake, service, staff, transcript
from qianbao.support.tickets.attachments import Upload
from qianbao.wallet.history import Filters, get_transaction, list_transactions
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import current_caller, login_redirect, redirect
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
MAX_VALUE = 25_000
TICKET_NOTICES = {
    "created": N_("Your ticket is open. We answer within business hours."),
    "replied": N_("Your message was added."),
    "transcript_sent": N_("The transcript is on its way to your e-mail address."),
}


async def posted(request: Request) -> tuple[dict[str, str], list[Upload]]:
    """Text fields and uploaded files (``files``) of a multipart or urlencoded form."""
    limit = request.app.state.settings.tickets.max_attachment_bytes
    form = await request.form(max_files=20, max_fields=60)
    values: dict[str, str] = {}
    uploads: list[Upload] = []
    for key, value in form.multi_items():
        if isinstance(value, str):
            values[key] = value[:MAX_VALUE]
        elif key == "files":
            data = await value.read(limit + 1)  # one byte more than allowed: refused as too large
            if value.filename or data:
                uploads.append(Upload(value.filename or "", data))
    await form.close()
    return values, uploads


def notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), TICKET_NOTICES[key]) if key in TICKET_NOTICES else None


def labels(locale: str) -> dict[str, Any]:
    return {
        "status": {k: gettext(locale, v) for k, v in intake.STATUS_LABELS.items()},
        "priority": {k: gettext(locale, v) for k, v in intake.PRIORITY_LABELS.items()},
        "category": {c.slug: gettext(locale, c.label) for c in intake.CATEGORIES},
    }


def intake_of(ticket: Any, locale: str) -> list[tuple[str, str]]:
    """The ticket's intake fields, translated; a call-back ticket adds its time and topic."""
    lines = [
        (gettext(locale, k), gettext(locale, v))
        for k, v in intake.intake_lines(ticket.category, ticket.intake)
    ]
    if ticket.channel == "callback":
        window, topic = ticket.intake.get("window"), ticket.intake.get("topic")
        if window:
            lines.append((gettext(locale, N_("Preferred time (China time)")),
                          hours.window_label(window, locale)))  # fmt: skip
        if topic:
            lines.append((gettext(locale, N_("What is it about?")),
                          gettext(locale, callbacks.TOPICS.get(topic, topic))))  # fmt: skip
    return lines


def category_forms(locale: str) -> list[dict[str, Any]]:
    return [
        {
            "slug": c.slug,
            "label": gettext(locale, c.label),
            "fields": [
                {
                    "name": f.name,
                    "label": gettext(locale, f.label),
                    "kind": f.kind,
                    "required": f.required,
                    "max_length": f.max_length,
                    "choices": [(v, gettext(locale, t)) for v, t in f.choices],
                }
                for f in c.fields
            ],
        }
        for c in intake.CATEGORIES
    ]


@router.get("/support/tickets", response_class=HTMLResponse)
async def my_tickets(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    tickets = await service.my_tickets(db_session(request), caller.user.id)
    return render(
        request,
        "support/tickets.html",
        {"tickets": tickets, "labels": labels(locale_of(request)), "notice": notice(request)},
    )


async def _new_page(
    request: Request, caller: Any, values: dict[str, str], exc: DomainError | None = None
) -> Response:
    locale = locale_of(request)
    page = await list_transactions(db_session(request), caller.user.id, Filters(), limit=20)
    category = values.get("category") or request.query_params.get("category") or ""
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "support/ticket_new.html",
        {
            "categories": category_forms(locale),
            "selected": category if category in intake.BY_SLUG else "",
            "values": values,
            "transactions": page.rows,
            "problem": problem,
            "max_files": request.app.state.settings.tickets.max_attachments,
        },
        status_code=problem.status if problem else 200,
        block="intake" if request.headers.get("hx-request") == "true" and not exc else None,
    )


@router.get("/support/tickets/new", response_class=HTMLResponse)
async def new_ticket_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    values = {"transaction_id": request.query_params.get("transaction", "")[:40]}
    return await _new_page(request, caller, values)


@router.post("/support/tickets/new", response_class=HTMLResponse)
async def create_ticket(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    values, uploads = await posted(request)
    category = values.get("category", "")
    cat = intake.BY_SLUG.get(category)
    fields = {f.name: values.get(f"intake_{f.name}", "") for f in (cat.fields if cat else ())}
    new = service.NewTicket(
        category=category,
        subject=values.get("subject", ""),
        body=values.get("body", ""),
        intake=fields,
        transaction_id=values.get("transaction_id") or None,
    )
    try:
        ticket = await service.create_for_user(
            db_session(request), request.app.state.settings, caller.user, new, uploads
        )
    except DomainError as exc:
        return await _new_page(request, caller, values, exc)
    return redirect(f"/support/tickets/{ticket.reference}", notice="created")


async def _ticket_page(
    request: Request, caller: Any, reference: str, exc: DomainError | None = None, body: str = ""
) -> Response:
    s, locale = db_session(request), locale_of(request)
    ticket = await service.my_ticket(s, caller.user.id, reference)
    target = await service.merged_target(s, ticket)
    tx = None
    if ticket.transaction_id is not None:
        tx = await get_transaction(s, caller.user.id, str(ticket.transaction_id))
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "support/ticket.html",
        {
            "ticket": ticket,
            "thread": await service.thread(s, ticket, internal=False),
            "intake": intake_of(ticket, locale),
            "tx": tx,
            "merged_target": target,
            "labels": labels(locale),
            "problem": problem,
            "notice": notice(request),
            "body": body,
            "has_email": bool(caller.user.email and caller.user.email_verified_at),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/support/tickets/{reference}", response_class=HTMLResponse)
async def ticket_page(request: Request, reference: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _ticket_page(request, caller, reference)


@router.post("/support/tickets/{reference}/reply", response_class=HTMLResponse)
async def reply(request: Request, reference: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    ticket = await service.my_ticket(s, caller.user.id, reference)
    values, uploads = await posted(request)
    try:
        await service.customer_reply(
            s, request.app.state.settings, caller.user.id, ticket, values.get("body", ""), uploads
        )
    except DomainError as exc:
        return await _ticket_page(request, caller, reference, exc, values.get("body", ""))
    return redirect(f"/support/tickets/{ticket.reference}", notice="replied", anchor="reply")


@router.get("/support/tickets/{reference}/transcript.txt")
async def transcript_download(request: Request, reference: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    ticket = await service.my_ticket(s, caller.user.id, reference)
    text = await transcript.as_text(s, ticket, locale_of(request))
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{ticket.reference}.txt"'},
    )


@router.post("/support/tickets/{reference}/transcript", response_class=HTMLResponse)
async def transcript_email(request: Request, reference: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    ticket = await service.my_ticket(s, caller.user.id, reference)
    try:
        await staff.email_transcript(s, caller.user, ticket, locale_of(request))
    except DomainError as exc:
        return await _ticket_page(request, caller, reference, exc)
    return redirect(f"/support/tickets/{ticket.reference}", notice="transcript_sent")


def attachment_response(a: Any) -> Response:
    ascii_name = a.filename.encode("ascii", "replace").decode()
    return Response(
        bytes(a.data),
        media_type=a.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"',
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/support/tickets/{reference}/attachments/{attachment_id}")
async def attachment(request: Request, reference: str, attachment_id: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    ticket = await service.my_ticket(s, caller.user.id, reference)
    return attachment_response(
        await service.attachment_of(s, ticket, attachment_id, internal=False)
    )
