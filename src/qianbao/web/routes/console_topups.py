"""Stuck top-ups in the console (issue 20): from the customer page an agent re-queries the
provider or proposes a manual credit (reason and evidence); /console/topups is the approvers'
queue, where a supervisor or admin other than the proposer approves (the top-up is credited
through its normal success path) or rejects with a reason. Every action is audited by the
service (support.console.topups)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.rails.factory import acquirers_of
from qianbao.support.console import audit, topups
from qianbao.support.console.access import is_supervisor
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, redirect
from qianbao.web.routes.console_pages import _staff
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
MAX_TEXT = 1000
NOTICES = {
    "credited": N_("The provider confirmed the payment: the top-up is credited."),
    "failed": N_("The provider says the payment did not go through: the top-up failed."),
    "open": N_("The provider has no payment for it yet: nothing changed."),
    "proposed": N_("The manual credit waits for a supervisor's approval."),
    "approved": N_("Approved: the top-up is credited and the customer is told."),
    "rejected": N_("Rejected: nothing was credited."),
}
ANSWERS = {"succeeded": "credited", "open": "open"}
AUDIT_LABELS = {
    "topup.requeried": N_("Asked the provider about a stuck top-up"),
    "topup.credit_proposed": N_("Proposed crediting a stuck top-up by hand"),
    "topup.credit_approved": N_("Approved crediting a stuck top-up by hand"),
    "topup.credit_rejected": N_("Rejected crediting a stuck top-up by hand"),
}
STATES = {
    "pending": N_("Waiting for the provider"),
    "failed": N_("Failed"),
    "expired": N_("Expired"),
    "succeeded": N_("Credited"),
}
CREDIT_STATES = {
    "pending": N_("Waiting for approval"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}


def state_labels(locale: str) -> dict[str, dict[str, str]]:
    """``topup``: a top-up's state; ``credit``: a manual credit's."""
    return {
        "topup": {k: gettext(locale, v) for k, v in STATES.items()},
        "credit": {k: gettext(locale, v) for k, v in CREDIT_STATES.items()},
    }


async def _form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=10)
    values = {k: v[:MAX_TEXT] for k, v in form.items() if isinstance(v, str)}
    await form.close()
    return values


async def _back(request: Request, who: Any, values: dict[str, str], exc: DomainError) -> Response:
    """The page the form was on, with the refusal shown."""
    from qianbao.web.routes.console_customers import _customer_page

    if values.get("customer"):
        return await _customer_page(request, who, values["customer"], exc, values)
    return await _queue(request, who, exc)


@router.post("/console/topups/{topup_id}/requery", response_class=HTMLResponse)
async def requery(request: Request, topup_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    values = await _form(request)
    s = db_session(request)
    try:
        done = await topups.requery(
            s, acquirers_of(request), who.user, topup_id, ip=client_ip(request)
        )
    except DomainError as exc:
        return await _back(request, who, values, exc)
    notice = ANSWERS.get(done.answer, "failed")
    if done.answer == "succeeded" and done.topup.status != "succeeded":
        notice = "failed"  # paid, but the wallet could not take it (parked for a refund)
    return redirect(
        f"/console/customers/{done.topup.user_id}", notice=notice, anchor="stuck-topups"
    )


@router.post("/console/topups/{topup_id}/credit", response_class=HTMLResponse)
async def propose(request: Request, topup_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    values = await _form(request)
    try:
        credit = await topups.propose(
            db_session(request),
            who.user,
            topup_id,
            reason=values.get("reason", ""),
            evidence=values.get("evidence", ""),
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _back(request, who, values, exc)
    return redirect(
        f"/console/customers/{credit.user_id}", notice="proposed", anchor="stuck-topups"
    )


@router.get("/console/topups", response_class=HTMLResponse)
async def queue(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _queue(request, who)


async def _queue(request: Request, who: Any, exc: DomainError | None = None) -> Response:
    s, locale = db_session(request), locale_of(request)
    pending = await topups.listing(s, who.user, status="pending")
    decided = (await topups.listing(s, who.user, status="approved", limit=20)) + (
        await topups.listing(s, who.user, status="rejected", limit=20)
    )
    decided.sort(key=lambda c: c.decided_at or c.proposed_at, reverse=True)
    names = await audit.people(
        s,
        {c.proposed_by for c in pending + decided}
        | {c.decided_by for c in decided}
        | {c.user_id for c in pending + decided},
    )
    problem = domain_problem(exc, locale) if exc else None
    key = request.query_params.get("notice") or ""
    return render(
        request,
        "console/topups.html",
        {
            "pending": pending,
            "decided": decided[:20],
            "names": names,
            "me": who.user.id,
            "supervisor": is_supervisor(who.user),
            "states": state_labels(locale),
            "problem": problem,
            "notice": gettext(locale, NOTICES[key]) if key in NOTICES else None,
        },
        status_code=problem.status if problem else 200,
    )


@router.post("/console/topup-credits/{credit_id}/{decision}", response_class=HTMLResponse)
async def decide(request: Request, credit_id: str, decision: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    values = await _form(request)
    if decision not in ("approve", "reject"):
        return redirect("/console/topups")
    try:
        await topups.decide(
            db_session(request),
            who.user,
            credit_id,
            approve=decision == "approve",
            note=values.get("note", ""),
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _queue(request, who, exc)
    return redirect("/console/topups", notice="approved" if decision == "approve" else "rejected")
