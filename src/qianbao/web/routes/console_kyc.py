"""The console's identity verification review (A8): approve, reject, ask for a new photo.

/console/kyc is the queue (the application waiting longest first, with its age);
/console/kyc/{id} one application — the customer's name, masked ID number, date of birth and
sex beside the three photos, which a staff-only route serves decrypted for each view (never
cached) — and the three decisions. Supervisors and admins only; every view and decision is in
the audit log (``qianbao.support.console.kyc``)."""

from __future__ import annotations

from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.kyc import DOCUMENT_KINDS, DOCUMENT_NAMES
from qianbao.identity.kyc_id import age_on
from qianbao.identity.kyc_review import REASONS
from qianbao.identity.phones import mask_phone
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, clock_of_app, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.console import audit
from qianbao.support.console import kyc as review
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, form_values, redirect
from qianbao.web.routes.console_pages import _staff
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
NOTICES = {
    "approved": N_("Approved: the customer is at level 2 now and was told by SMS."),
    "rejected": N_("Rejected: the customer sees the reason and was told by SMS."),
    "resubmit": N_("A new photo is asked for: the customer was told by SMS."),
}
AUDIT_LABELS = {
    "kyc.viewed": N_("Opened an identity verification"),
    "kyc.document_viewed": N_("Viewed an identity document photo"),
    "kyc.approved": N_("Approved an identity verification"),
    "kyc.rejected": N_("Rejected an identity verification"),
    "kyc.resubmit_asked": N_("Asked for a new identity document photo"),
}
SEX_LABELS = {"M": N_("Male"), "F": N_("Female")}
STATUS_LABELS = {
    "draft": N_("Not sent yet"),
    "submitted": N_("Waiting for review"),
    "resubmit": N_("New photo asked for"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), NOTICES[key]) if key in NOTICES else None


def _waited(minutes: int, locale: str) -> str:
    if minutes < 60:
        return gettext(locale, N_("{n} min"), n=minutes)
    if minutes < 48 * 60:
        return gettext(locale, N_("{n} h"), n=minutes // 60)
    return gettext(locale, N_("{n} days"), n=minutes // (24 * 60))


@router.get("/console/kyc", response_class=HTMLResponse)
async def kyc_queue(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s, locale = db_session(request), locale_of(request)
    now = clock_of_app(request).now()
    due = request.app.state.settings.kyc.review_due_hours * 60
    rows = []
    for w in await review.queue(s, who.user):
        minutes = review.age(w.application.submitted_at, now)
        rows.append(
            {
                "id": str(w.application.id),
                "name": w.identity.real_name if w.identity else (w.user.real_name or "—"),
                "phone": mask_phone(w.user.phone),
                "id_masked": w.identity.id_masked if w.identity else "—",
                "submissions": w.application.submissions,
                "submitted_at": w.application.submitted_at,
                "waited": _waited(minutes, locale),
                "overdue": minutes > due,
            }
        )
    return render(request, "console/kyc_queue.html", {"rows": rows, "notice": _notice(request)})


async def _application_page(
    request: Request, who: Any, application_id: str, exc: DomainError | None = None,
    values: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    s, locale = db_session(request), locale_of(request)
    found = await review.open_application(s, who.user, application_id, ip=client_ip(request))
    w = found.found
    today = clock_of_app(request).today()
    entries = await _history(s, who, w)
    names = await audit.people(s, {e.actor_id for e in entries})
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "console/kyc_application.html",
        {
            "app": w.application,
            "customer": {
                "id": str(w.user.id),
                "name": w.user.real_name or "—",
                "phone": mask_phone(w.user.phone),
                "tier": w.user.kyc_tier,
            },
            "identity": w.identity,
            "birthday": format_date(w.identity.birthday, "long", locale=locale)
            if w.identity
            else "",
            "sex": gettext(locale, SEX_LABELS[w.identity.sex]) if w.identity else "—",
            "age": age_on(w.identity.birthday, today) if w.identity else None,
            "status": gettext(locale, STATUS_LABELS[w.application.status]),
            "documents": [
                {
                    "kind": kind,
                    "name": gettext(locale, DOCUMENT_NAMES[kind]),
                    "doc": found.documents.get(kind),
                }
                for kind in DOCUMENT_KINDS
            ],
            "reasons": [(code, gettext(locale, text)) for code, text in REASONS.items()],
            "reason_text": gettext(locale, REASONS[w.application.reason_code])
            if w.application.reason_code in REASONS
            else None,
            "history": [
                {
                    "e": e,
                    "label": gettext(locale, AUDIT_LABELS.get(e.action, e.action)),
                    "actor": names.get(e.actor_id, {"name": str(e.actor_id)[:8]}),
                    "details": ", ".join(f"{k}: {v}" for k, v in (e.details or {}).items() if v),
                }
                for e in entries
            ],
            "problem": problem,
            "values": values or {},
            "notice": _notice(request),
        },
        status_code=problem.status if problem else 200,
    )


async def _history(s: Any, who: Any, w: Any) -> list[Any]:
    wanted = str(w.application.id)
    return [e for e in await review.history(s, who.user, w.user.id) if e.object_id == wanted]


@router.get("/console/kyc/{application_id}", response_class=HTMLResponse)
async def kyc_application(request: Request, application_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _application_page(request, who, application_id)


@router.get("/console/kyc/{application_id}/documents/{kind}")
async def kyc_document(request: Request, application_id: str, kind: str) -> Response:
    """One photo, decrypted for this view; staff only, audited, never cached or framed."""
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    image = await review.photo(
        db_session(request),
        request.app.state.settings,
        who.user,
        application_id,
        kind,
        ip=client_ip(request),
    )
    return Response(
        image,
        media_type="image/jpeg",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": "inline",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/console/kyc/{application_id}/decide", response_class=HTMLResponse)
async def kyc_decide(request: Request, application_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    form = await form_values(request)
    values = {k: form.get(k, "")[:500] for k in ("decision", "reason", "note", "kind")}
    s, settings, ip = db_session(request), request.app.state.settings, client_ip(request)
    try:
        if values["decision"] == "approve":
            await review.approve(s, settings, who.user, application_id, ip=ip)
            notice = "approved"
        elif values["decision"] == "reject":
            await review.reject(
                s, settings, who.user, application_id,
                reason=values["reason"], note=values["note"], ip=ip,
            )  # fmt: skip
            notice = "rejected"
        elif values["decision"] == "resubmit":
            await review.ask_again(
                s, settings, who.user, application_id,
                kind=values["kind"], reason=values["reason"], note=values["note"], ip=ip,
            )  # fmt: skip
            notice = "resubmit"
        else:
            return redirect(f"/console/kyc/{application_id}")
    except DomainError as exc:
        return await _application_page(request, who, application_id, exc, values)
    return redirect("/console/kyc", notice=notice)
