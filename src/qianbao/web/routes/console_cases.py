"""/console/cases (D4, E9): the open claims, most urgent first; one case's investigation — the
transaction and its risk decisions, the claimant's devices, sessions and security events, the
counterparty and the other claims against them — with the agent's recommendation and a
supervisor's decision (never the same person). Every step is in the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.disputes import claims, files, review
from qianbao.disputes.errors import CaseNotFound
from qianbao.identity.accounts import by_id
from qianbao.identity.deps import identity_ctx
from qianbao.identity.security import recent_events
from qianbao.identity.sessions import active_sessions
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, clock_of_app, db_session
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.kernel.text import from_typing
from qianbao.risk import rule_changes
from qianbao.support.console import audit
from qianbao.wallet import history
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, form_values, redirect
from qianbao.web.routes.console_pages import _staff
from qianbao.web.routes.console_risk import labels as risk_labels
from qianbao.web.routes.console_risk import person
from qianbao.web.routes.security_view import EVENT_LABELS
from qianbao.web.routes.ticket_pages import attachment_response
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
NOTICES = {
    "recommended": N_("Your recommendation is recorded. A supervisor decides next."),
    "decided": N_("The decision is recorded and the customer is told."),
    "sent_back": N_("The case is back with the agents."),
    "opened": N_("The case is open, the counterparty's money held and the customer told."),
    "released": N_("The hold is released."),
    "held": N_("What is in the counterparty's wallet, up to the claim, is held."),
}
SHARED_LABELS = {
    "nothing": N_("No, nothing"),
    "sms_code": N_("An SMS code"),
    "pin": N_("My payment PIN"),
    "password": N_("My password"),
    "unsure": N_("I am not sure"),
}


CASE_STATUS_LABELS = {
    "asked": N_("Waiting for the recipient to send it back"),
    "returned": N_("Sent back by the recipient"),
    "open": N_("Being investigated"),
    "recommended": N_("Waiting for a supervisor's decision"),
    "refunded": N_("Upheld: money returned"),
    "rejected": N_("Not upheld"),
    "withdrawn": N_("Withdrawn"),
}
CASE_EVENT_LABELS = {
    "opened": N_("Claim received"),
    "held": N_("Recipient's money held"),
    "frozen": N_("Account frozen"),
    "recommended": N_("Recommended"),
    "sent_back": N_("Sent back to the agents"),
    "refunded": N_("Refunded"),
    "rejected": N_("Not upheld"),
    "appealed": N_("Appealed"),
    "asked": N_("Recipient asked to send it back"),
    "returned": N_("Sent back by the recipient"),
    "declined": N_("The recipient said it was no mistake"),
    "not_answered": N_("No answer from the recipient within a week"),
    "merchant_told": N_("The merchant was told"),
    "merchant_answered": N_("The merchant answered"),
    "released": N_("Hold released by an agent"),
    "screenshots": N_("The customer added screenshots"),
}


def case_labels(locale: str) -> dict[str, dict[str, str]]:
    return {
        "status": {k: gettext(locale, v) for k, v in CASE_STATUS_LABELS.items()},
        "event": {k: gettext(locale, v) for k, v in CASE_EVENT_LABELS.items()},
        "recommendation": {
            "refund": gettext(locale, N_("Refund")),
            "reject": gettext(locale, N_("Reject")),
        },
    }


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), NOTICES[key]) if key in NOTICES else None


async def _person(s: Any, user_id: uuid.UUID | None) -> dict[str, Any] | None:
    return await person(s, user_id) if user_id is not None else None


@router.get("/console/cases", response_class=HTMLResponse)
async def cases(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    rows = [{"c": c, "who": await _person(s, c.user_id)} for c in await review.queue(s)]
    return render(
        request,
        "console/cases.html",
        {"rows": rows, "now": clock_of_app(request).now()},
    )


async def _case_page(
    request: Request, who: Any, case_id: str, exc: DomainError | None = None
) -> Response:
    s, locale = db_session(request), locale_of(request)
    case = await review.get(s, case_id)
    claimant = await by_id(s, case.user_id)
    tx = await history.get_transaction(s, case.user_id, str(case.transaction_id))
    ctx = identity_ctx(request)
    problem = domain_problem(exc, locale) if exc else None
    await audit.record(
        s, who.user, "case.viewed", subject_user_id=case.user_id, obj=("case", case.reference),
        ip=client_ip(request),
    )  # fmt: skip
    return render(
        request,
        "console/case.html",
        {
            "case": case,
            "tx": tx,
            "claimant": await _person(s, case.user_id),
            "counterparty": await _person(s, case.counterparty_user_id),
            "others": await review.other_claims_against(s, case),
            "events": await claims.timeline(s, case, public_only=False),
            "files": await files.of_case(s, case.id),
            "decisions": await rule_changes.decisions_of_transaction(s, tx.id),
            "sessions": await active_sessions(s, ctx, claimant.id),
            "security": [
                {"label": gettext(locale, EVENT_LABELS.get(e.kind, e.kind)), "e": e}
                for e in await recent_events(s, claimant.id, limit=10)
            ],
            "shared": gettext(locale, SHARED_LABELS.get(case.shared, case.shared)),
            # The wallet's own words are msgids (shown in the reader's language); a customer's,
            # as written (gettext leaves text it does not know as it is).
            "what_happened": gettext(locale, case.what_happened),
            "people": {
                k: await _person(s, v)
                for k, v in (
                    ("recommended_by", case.recommended_by),
                    ("decided_by", case.decided_by),
                )
            },
            "l": risk_labels(locale),
            "cl": case_labels(locale),
            "supervisor": who.user.role in review.DECIDERS,
            "me": who.user.id,
            "problem": problem,
            "notice": _notice(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _case_page(request, who, case_id)


@router.post("/console/cases/{case_id}/recommend", response_class=HTMLResponse)
async def recommend(request: Request, case_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    form = await form_values(request)
    refund = form.get("recommendation") == "refund"
    text = from_typing(form.get("amount", "")).strip()
    try:
        case = await review.get(s, case_id)
        case = await review.recommend(
            s,
            request.app.state.settings,
            who.user,
            case_id,
            refund=refund,
            amount=Money.parse(text, case.currency, allow_zero=False) if refund and text else None,
            note=form.get("note", ""),
        )
        await audit.record(
            s, who.user, "case.recommended", subject_user_id=case.user_id,
            obj=("case", case.reference),
            details={"recommendation": case.recommendation, "amount": case.recommended_amount},
            ip=client_ip(request),
        )  # fmt: skip
    except DomainError as exc:
        return await _case_page(request, who, case_id, exc)
    return redirect(f"/console/cases/{case_id}", notice="recommended")


@router.post("/console/cases/{case_id}/decide", response_class=HTMLResponse)
async def decide(request: Request, case_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    form = await form_values(request)
    approve = form.get("verdict") == "approve"
    try:
        case = await review.decide(
            s,
            request.app.state.settings,
            who.user,
            case_id,
            approve=approve,
            reason=form.get("reason", ""),
        )
        await audit.record(
            s, who.user, "case.decided" if approve else "case.sent_back",
            subject_user_id=case.user_id, obj=("case", case.reference),
            details={"status": case.status, "recovered": case.recovered_held,
                     "written_off": case.written_off},
            ip=client_ip(request),
        )  # fmt: skip
    except DomainError as exc:
        return await _case_page(request, who, case_id, exc)
    return redirect(f"/console/cases/{case_id}", notice="decided" if approve else "sent_back")


@router.post("/console/cases/{case_id}/hold/{act}", response_class=HTMLResponse)
async def hold(request: Request, case_id: str, act: str) -> Response:
    """E9: release the hold on the counterparty's money (with the reason), or hold again what
    is in their wallet now. Both in the audit log."""
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    form = await form_values(request)
    try:
        if act == "release":
            case = await review.release_hold(s, who.user, case_id, note=form.get("note", ""))
            action, notice = "case.hold_released", "released"
        elif act == "place":
            case = await review.hold_again(s, who.user, case_id)
            action, notice = "case.hold_placed", "held"
        else:
            raise CaseNotFound()
        await audit.record(
            s, who.user, action, subject_user_id=case.user_id, obj=("case", case.reference),
            details={"held": case.held}, ip=client_ip(request),
        )  # fmt: skip
    except DomainError as exc:
        return await _case_page(request, who, case_id, exc)
    return redirect(f"/console/cases/{case_id}", notice=notice)


@router.get("/console/cases/{case_id}/files/{file_id}")
async def case_file(request: Request, case_id: str, file_id: str) -> Response:
    """A screenshot the customer gave (downloaded, never shown inline); the read is audited."""
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    case = await review.get(s, case_id)
    found = await files.get(s, case, file_id)
    if found is None:
        raise CaseNotFound()
    await audit.record(
        s, who.user, "case.file_viewed", subject_user_id=case.user_id,
        obj=("case", case.reference), details={"file": found.filename}, ip=client_ip(request),
    )  # fmt: skip
    return attachment_response(found)
