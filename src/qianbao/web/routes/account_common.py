"""Shared plumbing of the account pages: cookies, the signed-in caller, form values, notices and
re-rendering a form with the error a service raised (in the user's language)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from qianbao.identity import otp
from qianbao.identity.deps import DEVICE_COOKIE, Caller, identity_ctx, optional_caller
from qianbao.identity.errors import StaffNeedsTwoFactor
from qianbao.identity.sessions import NewSession
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import db_session
from qianbao.kernel.i18n import N_
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.public import ONE_YEAR, safe_next
from qianbao.web.templating import locale_of, render

PENDING_COOKIE = "qb_pending"
PENDING_MAX_AGE = 10 * 60  # a pending two-factor sign-in lives ten minutes
MAX_FIELD = 256

# Short success messages shown after a redirect (?notice=key): only these keys, never free text.
NOTICES: dict[str, str] = {
    "signed_up": N_(
        "Welcome to Qianbao! Your account is ready. Set your payment PIN now: "
        "you will need it for every payment."
    ),
    "signed_out": N_("You are signed out."),
    "sent": N_("Money sent."),
    "cash_done": N_("Done: the cash operation is confirmed."),
    "wallet_opened": N_("Your new wallet is open. Exchange into it or receive money in it."),
    "held_confirmed": N_("Thank you for confirming. The payment was sent."),
    "held_denied": N_("The payment was cancelled and your account is frozen."),
    "claim_opened": N_("Your claim is open. We tell you at every step."),
    "screenshots_added": N_("Your screenshots are added to the case."),
    "return_asked": N_(
        "We asked the recipient to send the money back. We tell you when they answer."
    ),
    "returned": N_("Thank you: the money is sent back."),
    "return_declined": N_("Thank you for answering. Our customer service looks into it."),
    "claim_appealed": N_("Your appeal is sent. A different team member looks at the case again."),
    "card_bound": N_("Your card is bound."),
    "preferences_saved": N_("Saved."),
    "card_removed": N_("The card was removed."),
    "password_reset": N_("Your password was changed. Sign in with the new one."),
    "password_changed": N_("Your password was changed. Your other devices were signed out."),
    "pin_set": N_("Your payment PIN is set."),
    "pin_changed": N_("Your payment PIN was changed."),
    "pin_unlocked": N_("Your payment PIN is unlocked."),
    "code_sent": N_("We sent a code by SMS to your phone."),
    "two_factor_off": N_("Two-step verification is turned off."),
    "passkey_added": N_("Your passkey was added."),
    "passkey_removed": N_("The passkey was removed."),
    "session_revoked": N_("That device was signed out."),
    "frozen": N_("Your account is frozen. Nobody can move money with it until you unfreeze it."),
    "unfrozen": N_("Your account is unfrozen."),
    "email_verified": N_("Your e-mail address is verified."),
    "phone_changed": N_("Your mobile number is changed."),
    "withdrawal_requested": N_("Your withdrawal is on its way. Follow it here."),
    "withdrawal_approved": N_("The withdrawal is approved and goes to the bank."),
    "withdrawal_rejected": N_("The withdrawal is rejected; the customer's money is released."),
    "restriction_lifted": N_(
        "The restriction is lifted. The frequency rule counts again from now."
    ),
}


# Fields longer than a person types: a passkey's answer to a step-up (JSON, a few KB).
LONG_FIELDS = {"step_up_passkey": 20_000}


async def form_values(request: Request) -> dict[str, str]:
    """Text fields of the posted form, trimmed to a sane length (files are ignored)."""
    form = await request.form(max_files=0, max_fields=50)
    values = {
        key: value[: LONG_FIELDS.get(key, MAX_FIELD)]
        for key, value in form.items()
        if isinstance(value, str)
    }
    await form.close()
    return values


def code_minutes(request: Request) -> int:
    """How long a one-time code is valid, in whole minutes (for the pages' wording)."""
    return max(1, int(request.app.state.settings.identity.otp_ttl_s) // 60)


def code_cooldown(request: Request) -> int:
    """Seconds before another code can be asked for."""
    return int(request.app.state.settings.identity.otp_resend_cooldown_s)


def phone_region(request: Request) -> str:
    """The region of numbers typed without +country."""
    return str(request.app.state.settings.identity.default_region)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent")


def device_token(request: Request) -> str | None:
    return request.cookies.get(DEVICE_COOKIE)


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.http.https)


def set_session_cookies(request: Request, response: Response, new: NewSession) -> None:
    """The web session (HttpOnly, Lax) and the long-lived device cookie."""
    settings = request.app.state.settings
    response.set_cookie(
        settings.security.session_cookie,
        new.token,
        max_age=settings.identity.session_days * 24 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.http.https,
    )
    response.set_cookie(
        DEVICE_COOKIE,
        new.device_token,
        max_age=ONE_YEAR,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.http.https,
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        request.app.state.settings.security.session_cookie,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def set_pending_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        PENDING_COOKIE,
        token,
        max_age=PENDING_MAX_AGE,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_pending_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        PENDING_COOKIE, path="/login", httponly=True, samesite="lax", secure=_secure(request)
    )


async def current_caller(request: Request) -> Caller | None:
    """The signed-in user of a page request (web or API session), or None."""
    return await optional_caller(request)


def ensure_ready(caller: Caller) -> None:
    """Staff must turn on two-step verification before anything else (as in the API)."""
    if caller.user.is_staff and not caller.user.two_factor_enabled:
        raise StaffNeedsTwoFactor()


def login_redirect(request: Request) -> Response:
    """Not signed in: to the sign-in page, coming back here afterwards. A stale cookie goes."""
    target = request.url.path if request.method == "GET" else "/home"
    response = RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    if request.cookies.get(request.app.state.settings.security.session_cookie):
        clear_session_cookie(request, response)
    return response


def redirect(url: str, notice: str | None = None, anchor: str | None = None) -> Response:
    target = url
    if notice:
        target += ("&" if "?" in target else "?") + f"notice={notice}"
    if anchor:
        target += f"#{anchor}"
    return RedirectResponse(target, status_code=303)


def next_target(value: str | None, default: str = "/home") -> str:
    target = safe_next(value)
    return default if target == "/" and value != "/" else target


def notice_of(request: Request) -> str | None:
    key = request.query_params.get("notice")
    message = NOTICES.get(key or "")
    return gettext(locale_of(request), message) if message else None


# The form field an identity refusal is about (the pages show it under that field).
FIELD_OF_ERROR = {
    "identity.invalid_phone": "phone",
    "identity.phone_taken": "phone",
    "identity.code_invalid": "code",
    "identity.code_locked": "code",
    "identity.weak_password": "password",
    "identity.passwords_differ": "password_confirm",
    "identity.terms_not_accepted": "terms",
}


def form_error(
    request: Request,
    exc: DomainError,
    template: str,
    context: dict[str, Any],
    *,
    status: int | None = None,
) -> Response:
    """Show a service's refusal inside the form, in the user's language, keeping the page;
    ``field`` names the input it is about (shown under it) when there is one."""
    problem = domain_problem(exc, locale_of(request))
    return render(
        request,
        template,
        {**context, "problem": problem, "field": FIELD_OF_ERROR.get(problem.code)},
        status_code=status or problem.status,
    )


def mask_email(email: str) -> str:
    """'lilei@example.com' -> 'l***i@example.com'."""
    local, _, domain = email.partition("@")
    if len(local) <= 2:
        return f"{local[:1]}***@{domain}"
    return f"{local[0]}***{local[-1]}@{domain}"


async def code_step(request: Request, *, destination: str, purpose: str) -> dict[str, Any] | None:
    """The state of the code a page asked for earlier, while it can still be typed: how long it
    stays valid and when a new one can be asked for (the button counts down). Lets a page bring
    back its code step instead of a dead end ("wait N seconds" and no box to type the code)."""
    live = await otp.live_code(
        db_session(request), identity_ctx(request), destination=destination, purpose=purpose
    )
    if live is None:
        return None
    return {"resend_in": live.resend_in_s, "valid_minutes": max(1, -(-live.expires_in_s // 60))}
