"""What the security centre shows: everything is read through the identity services and turned
into plain values for the templates (account/security.html and its sections)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from markupsafe import Markup
from starlette.responses import Response

from qianbao.identity import passkeys, security, sessions, totp
from qianbao.identity.deps import Caller, identity_ctx
from qianbao.identity.phones import mask_phone
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import db_session
from qianbao.kernel.i18n import N_
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import code_step, mask_email, notice_of
from qianbao.web.templating import locale_of, render

PAGE = "account/security.html"  # the overview: one row per section, with its state
SECTION_PAGE = "account/security_section.html"

# Each section of the security centre has its own page, /security/<name>: the partial it
# renders and its title (for the browser tab; the partial's heading is the page's h1).
SECTIONS: dict[str, tuple[str, str]] = {
    "pin": ("account/security/_pin.html", N_("Payment PIN")),
    "password": ("account/security/_password.html", N_("Password")),
    "two-factor": ("account/security/_two_factor.html", N_("Two-step verification")),
    "passkeys": ("account/security/_passkeys.html", N_("Passkeys")),
    "sessions": ("account/security/_sessions.html", N_("Devices and sessions")),
    "phone": ("account/security/_phone.html", N_("Mobile number")),
    "email": ("account/security/_email.html", N_("E-mail address")),
    "events": ("account/security/_events.html", N_("Recent security events")),
    "freeze": ("account/security/_freeze.html", N_("Freeze my account")),
}

EVENT_LABELS: dict[str, str] = {
    "signed_up": N_("Account created"),
    "new_device": N_("Signed in on a new device"),
    "password_changed": N_("Password changed"),
    "password_reset": N_("Password reset with a code"),
    "phone_changed": N_("Phone number changed"),
    "pin_set": N_("Payment PIN set"),
    "pin_changed": N_("Payment PIN changed"),
    "pin_locked": N_("Payment PIN locked after wrong tries"),
    "pin_unlocked": N_("Payment PIN unlocked"),
    "two_factor_enabled": N_("Two-step verification turned on"),
    "two_factor_disabled": N_("Two-step verification turned off"),
    "passkey_added": N_("Passkey added"),
    "passkey_removed": N_("Passkey removed"),
    "login_locked": N_("Sign-in locked after failed attempts"),
    "session_revoked": N_("A device was signed out"),
    "account_frozen": N_("Account frozen"),
    "account_unfrozen": N_("Account unfrozen"),
    "account_unfrozen_by_staff": N_("Account unfrozen by customer service"),
    "email_verified": N_("E-mail address verified"),
    "card_added": N_("Bank card added"),
    "card_removed": N_("Bank card removed"),
}


async def security_page(
    request: Request,
    caller: Caller,
    *,
    section: str | None = None,
    exc: DomainError | None = None,
    **extra: Any,
) -> Response:
    """Render the security centre: the overview, or with ``section`` that section's own page.
    ``exc`` (a service's refusal) is shown inside the section's form, with the status its kind
    maps to; ``extra`` feeds one-off states (a new authenticator enrolment, recovery codes shown
    once, an e-mail waiting for its code)."""
    s = db_session(request)
    ctx = identity_ctx(request)
    user = caller.user
    problem = domain_problem(exc, locale_of(request)) if exc is not None else None
    enrolment = extra.pop("enrolment", None)
    context: dict[str, Any] = {
        "phone_masked": mask_phone(user.phone),
        "phone_pending_masked": mask_phone(extra["phone_pending"])
        if extra.get("phone_pending")
        else None,
        "email_masked": mask_email(user.email) if user.email else None,
        "email_verified": user.email_verified_at is not None,
        "frozen": user.frozen_at is not None,
        "frozen_by_support": user.frozen_at is not None
        and user.frozen_by is not None
        and user.frozen_by != user.id,
        "pin_set": user.pin_hash is not None,
        "pin_locked": user.pin_locked_at is not None,
        "two_factor": user.two_factor_enabled,
        "enrolling": user.totp_secret is not None and not user.two_factor_enabled,
        "enrolment": enrolment,
        # segno's own SVG (no user input in it): trusted markup.
        "qr_svg": Markup(enrolment.qr_svg) if enrolment is not None else None,  # noqa: S704
        "recovery_left": (
            await totp.remaining_recovery_codes(s, user) if user.two_factor_enabled else 0
        ),
        "passkeys": [
            {
                "id": passkeys.credential_id_text(c),
                "name": c.name,
                "created_at": c.created_at,
                "last_used_at": c.last_used_at,
            }
            for c in await passkeys.list_passkeys(s, user)
        ],
        "sessions": [
            {
                "id": sess.id,
                "device": dev.name if dev else None,
                "ip": sess.ip,
                "last_seen_at": sess.last_seen_at,
                "current": sess.id == caller.session.id,
            }
            for sess, dev in await sessions.active_sessions(s, ctx, user.id)
        ],
        "events": [
            {"label": EVENT_LABELS.get(e.kind, e.kind), "at": e.created_at, "ip": e.ip}
            for e in await security.recent_events(s, user.id, limit=10)
        ],
        "cooling_off_until": await security.cooling_off_until(s, ctx, user.id),
        # Unfreezing: the code sent earlier still works (count-down to a new one); no code this
        # hour is never a dead end (the authenticator app, or support).
        "unfreeze_code": await code_step(request, destination=user.phone, purpose="unfreeze")
        if user.frozen_at is not None
        else None,
        "no_code": problem is not None and problem.code == "identity.code_send_limit",
        "notice": notice_of(request),
        "section": section,
        "problem": problem,
        **extra,
    }
    status = problem.status if problem else 200
    if section in SECTIONS:
        template, title = SECTIONS[section]
        context.update(section_template=template, section_title=title, htag="h1")
        return render(request, SECTION_PAGE, context, status_code=status)
    return render(request, PAGE, context, status_code=status)
