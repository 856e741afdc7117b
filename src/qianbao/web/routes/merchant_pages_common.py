"""Shared plumbing of the merchant dashboard (``/merchant``): who may open it (a merchant's own
staff with two-step verification on; keys and webhooks only for the owner), the tabs, short
notices after a redirect, and the words for statuses, methods, scopes and event types."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import db_session
from qianbao.kernel.i18n import N_
from qianbao.merchants import agents as cash_agents
from qianbao.merchants import dashboard, review
from qianbao.merchants.errors import NotMerchantStaff
from qianbao.merchants.models import Merchant
from qianbao.support.console import audit
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, current_caller, login_redirect
from qianbao.web.templating import locale_of, render

SECURITY_SETUP = "/security/two-factor"

# Short success messages after a redirect (?done=key): only these keys, never free text.
NOTICES: dict[str, str] = {
    "refunded": N_("The refund is made: the money is back in the customer's wallet."),
    "dispute_answered": N_("Your answer is sent: the team deciding the claim reads it."),
    "key_revoked": N_("The API key is revoked: it no longer works."),
    "endpoint_enabled": N_("The endpoint is enabled again."),
    "endpoint_disabled": N_("The endpoint is disabled: nothing is sent to it any more."),
    "resent": N_("The delivery is queued to be sent again now."),
    "order_cancelled": N_("The order QR code is cancelled: it can no longer be paid."),
}

PENDING_MEANING = N_(
    "We are checking your application. You can look around, but you cannot take payments until "
    "it is approved."
)
SUSPENDED_MEANING = N_(
    "You cannot take new payments for now. Refunds and payouts of what you were paid continue."
)
MERCHANT_STATUS: dict[str, tuple[str, str, str]] = {
    # status: (name, what it means, badge class)
    "pending_review": (N_("Pending review"), PENDING_MEANING, "warn"),
    "active": (N_("Active"), N_("You can take payments."), "ok"),
    "suspended": (N_("Suspended"), SUSPENDED_MEANING, "danger"),
    "closed": (N_("Closed"), N_("This merchant account is closed and takes no payments."), ""),
    "rejected": (N_("Rejected"), N_("Your application was not approved."), "danger"),
}
PAYMENT_STATUS: dict[str, tuple[str, str]] = {
    "requires_confirmation": (N_("Awaiting the customer's confirmation"), "warn"),
    "succeeded": (N_("Paid"), "ok"),
    "cancelled": (N_("Cancelled"), ""),
    "expired": (N_("Expired"), ""),
}
SESSION_STATUS: dict[str, tuple[str, str]] = {
    "open": (N_("Waiting for payment"), "warn"),
    "paid": (N_("Paid"), "ok"),
    "expired": (N_("Expired"), ""),
    "cancelled": (N_("Cancelled"), ""),
}
METHODS = {
    "checkout": N_("Online checkout"),
    "qr": N_("QR code"),
    "payment_code": N_("Payment code"),
}
SETTLEMENT_STATUS: dict[str, tuple[str, str]] = {
    "created": (N_("On its way to your bank"), "warn"),
    "submitted": (N_("On its way to your bank"), "warn"),
    "returned": (N_("Sent back by the bank: paid again with a later payout"), "danger"),
    "paid": (N_("Paid out"), "ok"),
    "failed": (N_("Failed"), "danger"),
}
DELIVERY_STATUS: dict[str, tuple[str, str]] = {
    "pending": (N_("Pending"), "warn"),
    "succeeded": (N_("Delivered"), "ok"),
    "failed": (N_("Failed"), "danger"),
}
SCOPES = {
    "read": N_("Read payments, refunds, the balance and settlements"),
    "payments": N_("Ask customers to pay: checkout sessions, payment codes, webhooks"),
    "refunds": N_("Refund payments"),
}
EVENT_TYPES = {
    "checkout.session.completed": N_("A checkout session was paid"),
    "checkout.session.expired": N_("A checkout session expired unpaid"),
    "payment.succeeded": N_("A payment succeeded"),
    "refund.succeeded": N_("A refund was made"),
    "refund.failed": N_("A refund failed"),
    "payout.paid": N_("A payout reached your bank"),
    "payout.failed": N_("A payout failed"),
    "dispute.opened": N_("A customer claimed a payment"),
    "dispute.closed": N_("A claim on a payment was decided"),
}
TABS = (
    ("overview", "/merchant", N_("Overview"), False),
    ("payments", "/merchant/payments", N_("Payments"), False),
    ("qr", "/merchant/qr", N_("QR codes"), False),
    ("till", "/merchant/till", N_("Till"), False),
    ("settlements", "/merchant/settlements", N_("Settlements"), False),
    ("disputes", "/merchant/disputes", N_("Disputes"), False),
    ("keys", "/merchant/keys", N_("API keys"), True),
    ("webhooks", "/merchant/webhooks", N_("Webhooks"), True),
    ("agent", "/merchant/agent", N_("Cash point"), False),  # cash agents only
)


@dataclass(frozen=True)
class Desk:
    """The signed-in staff member at their merchant."""

    caller: Caller
    staffing: dashboard.Staffing
    is_agent: bool = False

    @property
    def merchant(self) -> Merchant:
        return self.staffing.merchant

    @property
    def user_id(self) -> uuid.UUID:
        return self.caller.user.id


async def desk(request: Request, *, manage: bool = False) -> Desk | Response:
    """The merchant's staff member, or where they must go first: the sign-in page, or the
    security page to turn on two-step verification. Anyone else is refused (403); with
    ``manage``, a staff member who is not the owner too."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    if caller.user.role != "merchant_staff":
        raise NotMerchantStaff()
    if not caller.user.two_factor_enabled:
        return RedirectResponse(SECURITY_SETUP, status_code=303)
    staffing = await dashboard.staffing(db_session(request), caller.user)
    if manage and not staffing.manages:
        raise dashboard.OwnerOnly()
    is_agent = await cash_agents.agent_of(db_session(request), staffing.merchant.id) is not None
    return Desk(caller, staffing, is_agent)


def new_key() -> str:
    """An idempotency key for one rendering of a form that moves money or creates something."""
    return uuid.uuid4().hex


def notice(request: Request) -> str | None:
    message = NOTICES.get(request.query_params.get("done") or "")
    return gettext(locale_of(request), message) if message else None


def redirect_to(url: str, done: str | None = None) -> Response:
    target = url if not done else url + ("&" if "?" in url else "?") + f"done={done}"
    return RedirectResponse(target, status_code=303)


def page(
    request: Request,
    who: Desk,
    template: str,
    tab: str,
    context: dict[str, Any] | None = None,
    *,
    exc: DomainError | None = None,
    status_code: int | None = None,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A dashboard page: the merchant, the tabs, a notice or the service's refusal (in the
    user's language; the page keeps its status code, so the request's work is rolled back)."""
    locale = locale_of(request)
    merchant = who.merchant
    problem = domain_problem(exc, locale) if exc is not None else None
    status_name, status_meaning, status_badge = MERCHANT_STATUS.get(
        merchant.status, (merchant.status, "", "")
    )
    return render(
        request,
        template,
        {
            "merchant": merchant,
            "merchant_name": merchant.name(locale),
            "status_name": gettext(locale, status_name),
            "status_meaning": gettext(locale, status_meaning) if status_meaning else "",
            "status_badge": status_badge,
            "manages": who.staffing.manages,
            "tab": tab,
            "tabs": [
                (key, url, label)
                for key, url, label, owner in TABS
                if (who.staffing.manages or not owner) and (key != "agent" or who.is_agent)
            ],
            "notice": notice(request),
            "problem": problem,
            "PAYMENT_STATUS": PAYMENT_STATUS,
            "SESSION_STATUS": SESSION_STATUS,
            "METHODS": METHODS,
            "SETTLEMENT_STATUS": SETTLEMENT_STATUS,
            "DELIVERY_STATUS": DELIVERY_STATUS,
            **(context or {}),
        },
        status_code=status_code or (problem.status if problem else 200),
        block=block,
        headers=headers,
    )


async def audited(request: Request, who: Desk, action: str, **details: Any) -> None:
    """A staff member's action on the shop's secrets (API keys, webhook signing secrets), in the
    audit log with their address; the console shows it on the merchant's page."""
    s = db_session(request)
    staff = await review.staff_with_roles(s, who.merchant.id)
    owner = next((p.user.id for p in staff if p.role == "owner"), who.user_id)
    await audit.record(
        s,
        who.caller.user,
        action,
        subject_user_id=owner,
        obj=("merchant", who.merchant.id),
        details={"merchant": who.merchant.code, **details},
        ip=client_ip(request),
    )
