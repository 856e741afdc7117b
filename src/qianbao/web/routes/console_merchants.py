"""The operators' console for merchants (F1), for supervisors and admins
with two-step verification on (the same guard as /ops/wallet):

- /console/merchants: the list (waiting for review first), by status and by name, code or USCC;
- /console/merchants/{id}: names, category, USCC, website, the masked settlement account (the
  full number only by an explicit, audited "reveal"), staff, fee plan, balance, and the status
  changes onboarding allows (activate, reject, suspend, reactivate, close), each with a reason,
  a confirmation step and an entry in the audit log;
(The promo codes are in ``console_promos``.)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller
from qianbao.identity.phones import mask_phone
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.merchants import onboarding, review
from qianbao.merchants.categories import category_name
from qianbao.merchants.errors import StatusChangeRefused
from qianbao.support.console import audit
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, form_values, redirect
from qianbao.web.routes.ops_pages import _operator
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

STATUS_LABELS = {
    "pending_review": N_("Waiting for review"),
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "rejected": N_("Rejected"),
    "closed": N_("Closed"),
}
STATUS_BADGES = {"pending_review": "warn", "active": "ok", "suspended": "danger"}
# The button for each (from, to) the onboarding TRANSITIONS allow.
ACTION_LABELS = {
    ("pending_review", "active"): N_("Activate"),
    ("pending_review", "rejected"): N_("Reject"),
    ("active", "suspended"): N_("Suspend"),
    ("active", "closed"): N_("Close"),
    ("suspended", "active"): N_("Reactivate"),
    ("suspended", "closed"): N_("Close"),
}
ACTION_ORDER = ("active", "rejected", "suspended", "closed")
ACTION_HINTS = {
    "active": N_("It can take payments and is paid out to its settlement account."),
    "rejected": N_("The application is refused; the business may send a new one."),
    "suspended": N_("It takes no payments until it is reactivated; refunds still go through."),
    "closed": N_("For good: it takes no payments again."),
}
NOTICES = {
    "active": N_("The merchant is active: it can take payments."),
    "rejected": N_("The application is rejected."),
    "suspended": N_("The merchant is suspended: it takes no payments now."),
    "closed": N_("The merchant is closed."),
}
AUDIT_LABELS = {
    "merchant.status": N_("Changed the merchant's status"),
    "merchant.account_revealed": N_("Revealed the settlement account number"),
    "merchant.key_created": N_("Created an API key"),
    "merchant.key_rotated": N_("Rotated an API key"),
    "merchant.key_revoked": N_("Revoked an API key"),
    "merchant.webhook_secret_revealed": N_("Revealed a webhook signing secret"),
    "merchant.webhook_secret_rotated": N_("Rotated a webhook signing secret"),
    "promo.created": N_("Created a promo code"),
    "promo.enabled": N_("Switched a promo code on"),
    "promo.disabled": N_("Switched a promo code off"),
}
METHOD_LABELS = {
    "checkout": N_("Online checkout"),
    "qr": N_("QR code payments"),
    "payment_code": N_("Payment code payments"),
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), NOTICES[key]) if key in NOTICES else None


def _problem(request: Request, exc: DomainError | None) -> Any:
    return domain_problem(exc, locale_of(request)) if exc else None


def _status(locale: str, status: str) -> dict[str, str]:
    return {
        "key": status,
        "label": gettext(locale, STATUS_LABELS.get(status, status)),
        "badge": STATUS_BADGES.get(status, ""),
    }


def _name(m: Any, locale: str) -> tuple[str, str]:
    """(the name in the reader's language, the other one)."""
    return (m.name_en, m.name_zh) if locale == "en" else (m.name_zh, m.name_en)


# -- the list ----------------------------------------------------------------------------------
@router.get("/console/merchants", response_class=HTMLResponse)
async def merchants(request: Request, status: str = "", q: str = "") -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    locale = locale_of(request)
    status = status if status in review.STATUSES else ""
    rows = []
    for m in await review.find(db_session(request), status=status or None, q=q):
        name, other = _name(m, locale)
        rows.append(
            {
                "m": m,
                "name": name,
                "other": other,
                "category": gettext(locale, category_name(m.category)),
                "status": _status(locale, m.status),
            }
        )
    return render(
        request,
        "console/merchants.html",
        {
            "rows": rows,
            "status": status,
            "q": q[:64],
            "statuses": [(s, gettext(locale, STATUS_LABELS[s])) for s in review.STATUSES],
        },
    )


# -- one merchant ------------------------------------------------------------------------------
def _fee_plan(plan: dict[str, Any], locale: str) -> list[dict[str, str]]:
    rows = []
    for method, rule in (plan or {}).items():
        rows.append(
            {
                "method": gettext(locale, METHOD_LABELS.get(method, method)),
                "percent": str(rule.get("percent", "0")),
                "fixed": str(rule.get("fixed", "0")),
                "minimum": str(rule.get("minimum", "0")),
                "maximum": str(rule.get("maximum") or "—"),
            }
        )
    return rows


async def _history(s: Any, who: Caller, m: Any, owner_id: Any, locale: str) -> list[dict[str, Any]]:
    """The audit entries about this merchant, newest first."""
    entries = []
    for action in AUDIT_LABELS:  # what was done to this merchant, by operators or its staff
        if not action.startswith("merchant."):
            continue
        found = await audit.search(
            s,
            who.user,
            audit.AuditFilter(action=action, subject_user_id=owner_id, since=m.created_at),
            limit=1000,
        )
        entries += [e for e in found if e.object_kind == "merchant" and e.object_id == str(m.id)]
    entries.sort(key=lambda e: (e.at, e.id), reverse=True)
    names = await audit.people(s, {e.actor_id for e in entries})
    rows = []
    for e in entries:
        details = dict(e.details or {})
        rows.append(
            {
                "e": e,
                "action": gettext(locale, AUDIT_LABELS.get(e.action, e.action)),
                "actor": names.get(e.actor_id, {"name": str(e.actor_id)[:8]})["name"],
                "change": (
                    f"{gettext(locale, STATUS_LABELS.get(details['from'], details['from']))} → "
                    f"{gettext(locale, STATUS_LABELS.get(details['to'], details['to']))}"
                )
                if details.get("from") and details.get("to")
                else "",
                "reason": details.get("reason") or "",
            }
        )
    return rows


async def _merchant_page(
    request: Request,
    who: Caller,
    merchant_id: str,
    *,
    exc: DomainError | None = None,
    revealed: str | None = None,
    confirm: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    s, locale = db_session(request), locale_of(request)
    m = await onboarding.get(s, merchant_id)
    staff = await review.staff_with_roles(s, m.id)
    owner = next((p.user.id for p in staff if p.role == "owner"), None)
    name, other = _name(m, locale)
    balance = None if m.status == "pending_review" else await review.balance_if_open(s, m.id)
    problem = _problem(request, exc)
    return render(
        request,
        "console/merchant.html",
        {
            "m": m,
            "name": name,
            "other": other,
            "category": gettext(locale, category_name(m.category)),
            "status": _status(locale, m.status),
            "bank": gettext(locale, m.settlement_bank_name),
            "staff": [
                {
                    "name": p.user.real_name or "—",
                    "phone": mask_phone(p.user.phone),
                    "owner": p.role == "owner",
                    "two_factor": p.user.totp_enabled_at is not None,
                }
                for p in staff
            ],
            "fees": _fee_plan(m.fee_plan, locale),
            "balance": balance,
            "actions": [
                {
                    "to": to,
                    "label": gettext(locale, ACTION_LABELS[(m.status, to)]),
                    "hint": gettext(locale, ACTION_HINTS[to]),
                }
                for to in ACTION_ORDER
                if to in onboarding.TRANSITIONS.get(m.status, set())
                and (m.status, to) in ACTION_LABELS
            ],
            "confirm": confirm,
            "revealed": revealed,
            "history": await _history(s, who, m, owner, locale),
            "reviewer": (await audit.people(s, {m.reviewed_by})).get(m.reviewed_by)
            if m.reviewed_by
            else None,
            "values": values or {},
            "problem": problem,
            "notice": _notice(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/merchants/{merchant_id}", response_class=HTMLResponse)
async def merchant_page(request: Request, merchant_id: str) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    return await _merchant_page(request, who, merchant_id)


async def _owner_of(s: Any, merchant_id: Any) -> Any:
    staff = await review.staff_with_roles(s, merchant_id)
    return next((p.user.id for p in staff if p.role == "owner"), None)


@router.post("/console/merchants/{merchant_id}/reveal", response_class=HTMLResponse)
async def reveal(request: Request, merchant_id: str) -> Response:
    """The full settlement account number, on this answer only; the reveal is audited."""
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    m = await onboarding.get(s, merchant_id)
    number = onboarding.reveal_settlement_number(request.app.state.settings, m)
    await audit.record(
        s,
        who.user,
        "merchant.account_revealed",
        subject_user_id=await _owner_of(s, m.id),
        obj=("merchant", m.id),
        details={"merchant": m.code, "last4": m.settlement_last4},
        ip=client_ip(request),
    )
    return await _merchant_page(request, who, merchant_id, revealed=number)


@router.post("/console/merchants/{merchant_id}/status", response_class=HTMLResponse)
async def change_status(request: Request, merchant_id: str) -> Response:
    """Two steps: the reason, then the confirmation (the same form with ``confirm=1``)."""
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    s, locale = db_session(request), locale_of(request)
    values = await form_values(request)
    m = await onboarding.get(s, merchant_id)
    target = values.get("to", "")
    try:
        if (m.status, target) not in ACTION_LABELS:
            raise StatusChangeRefused(old=m.status, new=target[:20])
        reason = review.reason_of(values.get("reason"))
        if values.get("confirm") != "1" or values.get("from") != m.status:
            confirm = {
                "to": target,
                "from": m.status,
                "reason": reason,
                "label": gettext(locale, ACTION_LABELS[(m.status, target)]),
                "hint": gettext(locale, ACTION_HINTS[target]),
            }
            return await _merchant_page(request, who, merchant_id, confirm=confirm)
        old = m.status
        await onboarding.set_status(s, m, target, by=who.user, reason=reason)
        await audit.record(
            s,
            who.user,
            "merchant.status",
            subject_user_id=await _owner_of(s, m.id),
            obj=("merchant", m.id),
            details={"merchant": m.code, "from": old, "to": target, "reason": reason},
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _merchant_page(
            request, who, merchant_id, exc=exc, values={"to": target, **values}
        )
    return redirect(f"/console/merchants/{m.id}", notice=target)
