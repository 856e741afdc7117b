"""The agent console's customer side (E9): /console/customers (search), the customer context
(/console/customers/{id}, and its panel loaded inside the ticket and chat views) and the actions
on it: freeze with a reason, unfreeze (supervisors), send a help article, escalate. Every read and
action is audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.disputes import claims, review
from qianbao.identity.accounts import by_id
from qianbao.identity.deps import Caller
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import from_typing
from qianbao.support.console import actions, audit, context, topups
from qianbao.support.console.access import is_supervisor
from qianbao.support.console.errors import CustomerNotFound
from qianbao.web.audit_view import details_text, ids_in
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, redirect
from qianbao.web.routes.console_cases import case_labels
from qianbao.web.routes.console_kyc import AUDIT_LABELS as KYC_AUDIT_LABELS
from qianbao.web.routes.console_merchants import AUDIT_LABELS as MERCHANT_AUDIT_LABELS
from qianbao.web.routes.console_pages import _staff
from qianbao.web.routes.console_topups import AUDIT_LABELS as TOPUP_AUDIT_LABELS
from qianbao.web.routes.console_topups import NOTICES as TOPUP_NOTICES
from qianbao.web.routes.console_topups import state_labels
from qianbao.web.routes.security_view import EVENT_LABELS
from qianbao.web.routes.ticket_pages import labels, posted
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
NOTICES = {
    "frozen": N_("The account is frozen. The customer was told by SMS."),
    "unfrozen": N_("The account is unfrozen. The customer was told by SMS."),
    "article_sent": N_("The article is in the customer's inbox."),
    "escalated": N_("A supervisor will take it over."),
    **TOPUP_NOTICES,  # stuck top-ups (console_topups)
}
ACTION_LABELS = {
    "customer.viewed": N_("Viewed the customer"),
    "customer.searched": N_("Searched for a customer"),
    "customer.frozen": N_("Froze the account"),
    "customer.unfrozen": N_("Unfroze the account"),
    "article.sent": N_("Sent a help article"),
    "escalation.opened": N_("Escalated to a supervisor"),
    "escalation.taken": N_("Took an escalation"),
    "report.viewed": N_("Viewed the reports"),
    "case.viewed": N_("Opened a case"),
    "case.opened_for_customer": N_("Opened a case for the customer"),
    "case.recommended": N_("Recommended a decision on a case"),
    "case.decided": N_("Decided a case"),
    "case.sent_back": N_("Sent a case back to the agents"),
    "case.hold_released": N_("Released the hold on the counterparty's money"),
    "case.hold_placed": N_("Held the counterparty's money"),
    "case.file_viewed": N_("Opened a customer's screenshot"),
    "chat.viewed": N_("Opened a chat"),
    "chat.replied": N_("Replied in a chat"),
    "chat.closed": N_("Closed a chat"),
    "chat.transferred": N_("Transferred a chat to another agent"),
    "chat.taken": N_("Took a waiting chat from the queue"),
    "ticket.viewed": N_("Opened a ticket"),
    "ticket.replied": N_("Replied to a ticket"),
    "ticket.note_added": N_("Added an internal note"),
    "ticket.assigned": N_("Assigned a ticket"),
    "ticket.status": N_("Changed a ticket's status"),
    "ticket.priority": N_("Changed a ticket's priority"),
    "ticket.merged_into": N_("Merged a ticket into another"),
    "ticket.merged_from": N_("Merged another ticket into this one"),
    "ticket.callback_done": N_("Called the customer back"),
    "rota.shift_added": N_("Added a shift to the rota"),
    "rota.shift_removed": N_("Removed a shift from the rota"),
    "ticket.created": N_("Opened the ticket"),
    "ticket.customer_replied": N_("The customer replied"),
    "ticket.transcript_emailed": N_("E-mailed the transcript"),
    **MERCHANT_AUDIT_LABELS,  # the merchants console's actions
    **KYC_AUDIT_LABELS,  # identity verification (/console/kyc)
    **TOPUP_AUDIT_LABELS,  # stuck top-ups: re-query, manual credit (/console/topups)
    # The bank rails and the finance console (/ops/bank, /ops/finance).
    "bank.statement_imported": N_("Imported a bank file"),
    "bank.payout_file_created": N_("Made a payout file"),
    "bank.payout_file_approved": N_("Approved a payout file"),
    "bank.payout_file_released": N_("Released a payout file to the bank"),
    "bank.item_credit": N_("Credited a suspense item to a wallet"),
    "bank.item_credit_proposed": N_("Proposed crediting a suspense item to a wallet"),
    "bank.item_book": N_("Booked a suspense item"),
    "bank.item_book_proposed": N_("Proposed booking a suspense item"),
    "bank.item_refund": N_("Sent a suspense item back to the payer"),
    "bank.item_refund_proposed": N_("Proposed sending a suspense item back to the payer"),
    "bank.item_approve": N_("Approved a suspense item's action"),
    "bank.item_reject": N_("Rejected a suspense item's action"),
    "finance.change_proposed": N_("Proposed a change of a money setting"),
    "finance.change_approved": N_("Approved a change of a money setting"),
    "finance.change_rejected": N_("Rejected a change of a money setting"),
    "risk.rule_proposed": N_("Proposed a change of a risk rule"),
    "risk.rule_applied": N_("Approved a change of a risk rule"),
    "risk.rule_rejected": N_("Rejected a change of a risk rule"),
}


def audit_entry(e: Any, names: dict[Any, Any], locale: str) -> dict[str, Any]:
    return {
        "e": e,
        "action": gettext(locale, ACTION_LABELS[e.action])
        if e.action in ACTION_LABELS
        else e.action,
        "actor": names.get(e.actor_id, {"name": str(e.actor_id)[:8], "phone": ""}),
        "subject": names.get(e.subject_user_id) if e.subject_user_id else None,
        "details": details_text(e.details, locale, names),
    }


@router.get("/console/customers", response_class=HTMLResponse)
async def customers(request: Request, q: str = "") -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    region = request.app.state.settings.identity.default_region
    found = await context.find(s, who.user, q, region=region, ip=client_ip(request)) if q else []
    if len(found) == 1 and found[0].user_id is not None:
        return redirect(f"/console/customers/{found[0].user_id}")
    return render(request, "console/customers.html", {"q": q[:64], "found": found})


async def _customer_page(
    request: Request,
    who: Caller,
    user_id: str,
    exc: DomainError | None = None,
    values: dict[str, str] | None = None,
    block: str | None = None,
) -> Response:
    s, locale = db_session(request), locale_of(request)
    ctx = await context.customer_context(
        s, who.user, user_id, ip=client_ip(request), settings=request.app.state.settings
    )
    entries = await audit.of_customer(s, ctx.user_id)
    names = await audit.people(s, {e.actor_id for e in entries} | ids_in(entries))
    problem = domain_problem(exc, locale_of(request)) if exc else None
    return render(
        request,
        "console/customer.html",
        {
            "c": ctx,
            "labels": labels(locale),
            "events": [
                {
                    "label": gettext(locale, EVENT_LABELS.get(e.kind, e.kind)),
                    "at": e.created_at,
                    "ip": e.ip,
                }
                for e in ctx.security_events
            ],
            "entries": [audit_entry(e, names, locale) for e in entries],
            "values": values or {},
            "problem": problem,
            "notice": _notice(request),
            "supervisor": is_supervisor(who.user),
            # Their transfers and shop payments a case could be about (none with a case yet).
            "claimable": await claims.claimable(s, request.app.state.settings, ctx.user_id),
            "cases": await review.of_customer(s, ctx.user_id),
            "case_status": case_labels(locale)["status"],
            "topups": await topups.customer_view(s, ctx.user_id),
            "topup_states": state_labels(locale),
            "me": who.user.id,
        },
        status_code=problem.status if problem else 200,
        block=block,
    )


@router.get("/console/customers/{user_id}", response_class=HTMLResponse)
async def customer_page(request: Request, user_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _customer_page(request, who, user_id)


@router.get("/console/customers/{user_id}/context", response_class=HTMLResponse)
async def customer_context_panel(request: Request, user_id: str) -> Response:
    """The customer's context alone (loaded into a ticket or chat view); the read is audited."""
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _customer_page(request, who, user_id, block="context")


@router.post("/console/customers/{user_id}/{action}", response_class=HTMLResponse)
async def customer_action(request: Request, user_id: str, action: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s, ip = db_session(request), client_ip(request)
    values, _ = await posted(request)
    try:
        if action == "freeze":
            await actions.freeze_account(
                s, request.app.state.identity, who.user, user_id, values.get("reason", ""), ip=ip
            )
            notice = "frozen"
        elif action == "unfreeze":
            await actions.unfreeze_account(
                s, request.app.state.identity, who.user, user_id, values.get("reason", ""), ip=ip
            )
            notice = "unfrozen"
        elif action == "article":
            await actions.send_article(s, who.user, user_id, values.get("slug", ""), ip=ip)
            notice = "article_sent"
        elif action == "escalate":
            await actions.escalate(
                s,
                who.user,
                reason=values.get("reason", ""),
                user_id=user_id,
                ticket_reference=values.get("ticket") or None,
                ip=ip,
            )
            notice = "escalated"
        elif action == "case":
            case = await _open_case(request, who, user_id, values)
            return redirect(f"/console/cases/{case.id}", notice="opened")
        else:
            raise CustomerNotFound()
    except DomainError as exc:
        return await _customer_page(request, who, user_id, exc, values)
    return redirect(f"/console/customers/{user_id}", notice=notice)


async def _open_case(request: Request, who: Caller, user_id: str, values: dict[str, str]) -> Any:
    """E9: an agent opens an unauthorized-transaction case for the customer (heard on the phone
    or in a chat): the same claim the customer could open, the counterparty's money held at once,
    the customer told; the agent is its opener in the case's timeline and the audit log."""
    s = db_session(request)
    ctx = await context.customer_context(s, who.user, user_id, ip=client_ip(request))
    customer = await by_id(s, ctx.user_id)
    case = await claims.open_claim(
        s,
        request.app.state.identity,
        customer,
        transaction_id=values.get("transaction", ""),
        what_happened=values.get("what_happened", ""),
        shared=values.get("shared", "unsure"),
        claimed=from_typing(values.get("amount", "")).strip() or None,
        freeze_account=values.get("freeze") == "1",
        source="agent",
        ip=client_ip(request),
        opened_by=who.user.id,
    )
    await audit.record(
        s, who.user, "case.opened_for_customer", subject_user_id=customer.id,
        obj=("case", case.reference), details={"claimed": case.claimed},
        ip=client_ip(request),
    )  # fmt: skip
    return case


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), NOTICES[key]) if key in NOTICES else None
