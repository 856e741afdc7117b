"""Sign-up (/signup): the number and the consent to the terms, the SMS code step (which survives
a reload while its code is valid), then the password; the new account lands on the wallet."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity import accounts, sessions
from qianbao.identity.deps import identity_ctx
from qianbao.identity.errors import (
    CodeCooldown,
    CodeSendLimit,
    TermsNotAccepted,
)
from qianbao.identity.phones import mask_phone, normalize_phone
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.web.routes.account_common import (
    client_ip,
    code_cooldown,
    code_minutes,
    code_step,
    current_caller,
    device_token,
    form_error,
    form_values,
    phone_region,
    redirect,
    set_session_cookies,
    user_agent,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
SIGNUP = "account/signup.html"

SIGNUP_COOKIE = "qb_signup_phone"


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(request: Request, change: str = "") -> Response:
    """Step 1, or back at step 2 while the code sent a moment ago still works (a reload, the
    SMS app and back, a closed tab): the number is kept in a short cookie (``?change=1``
    starts again with another number)."""
    if await current_caller(request) is not None:
        return redirect("/home")
    pending = request.cookies.get(SIGNUP_COOKIE, "")[:20]
    if pending and not change:
        earlier = await code_step(request, destination=pending, purpose="sign_up")
        if earlier is not None:
            context = {"step": "code", "phone": pending, "real_name": "", "earlier": True}
            context.update(sent_to=mask_phone(pending), **earlier)
            return render(request, SIGNUP, context)
    return render(request, SIGNUP, {"step": "phone", "phone": ""})


def _remember_number(request: Request, response: Response, phone: str) -> Response:
    response.set_cookie(
        SIGNUP_COOKIE,
        phone,
        max_age=int(request.app.state.settings.identity.otp_ttl_s),
        path="/signup",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.http.https,
    )
    return response


@router.post("/signup/code", response_class=HTMLResponse)
async def signup_code(request: Request) -> Response:
    form = await form_values(request)
    phone = form.get("phone", "").strip()
    resend = bool(form.get("resend"))
    context: dict[str, Any] = {
        "step": "code" if resend else "phone",
        "phone": phone,
        "real_name": form.get("real_name", ""),
    }
    if resend:
        context["sent_to"] = form.get("sent_to", "")
    try:
        normalize_phone(phone, phone_region(request))  # a wrong number is said first
        if not resend and not form.get("accept_terms"):  # ticked before any SMS is sent
            raise TermsNotAccepted()
        normalized = await accounts.request_sign_up_code(
            db_session(request),
            identity_ctx(request),
            phone_raw=phone,
            ip=client_ip(request),
            locale=locale_of(request),
        )
    except (CodeCooldown, CodeSendLimit) as exc:
        # Asked again too soon (back button, a second tab) or too often: the code sent earlier
        # still works, so bring back the step where it is typed, with a count-down.
        normalized = normalize_phone(phone, phone_region(request))
        earlier = await code_step(request, destination=normalized, purpose="sign_up")
        if earlier is None:
            return form_error(request, exc, SIGNUP, {**context, "way_out": True})
        context.update(step="code", sent_to=mask_phone(normalized), earlier=True, **earlier)
        if isinstance(exc, CodeCooldown):
            return _remember_number(request, render(request, SIGNUP, context), normalized)
        return form_error(request, exc, SIGNUP, context)
    except DomainError as exc:
        return form_error(request, exc, SIGNUP, context)
    context.update(
        step="code",
        sent_to=mask_phone(normalized),
        minutes=code_minutes(request),
        sent=True,
        resend_in=code_cooldown(request),
    )
    return _remember_number(request, render(request, SIGNUP, context), normalized)


@router.post("/signup", response_class=HTMLResponse)
async def signup(request: Request) -> Response:
    form = await form_values(request)
    phone = form.get("phone", "").strip()
    real_name = form.get("real_name", "").strip()[:100]
    # A refusal keeps what was typed (the code too: a weak password did not use it up).
    code = form.get("code", "").strip()[:12]
    context = {"step": "code", "phone": phone, "real_name": real_name, "code": code}
    try:
        context["sent_to"] = mask_phone(normalize_phone(phone, phone_region(request)))
        s = db_session(request)
        ctx = identity_ctx(request)
        user = await accounts.sign_up(
            s,
            ctx,
            phone_raw=phone,
            code=code,
            password=form.get("password", ""),
            confirm=form.get("password_confirm", ""),
            real_name=real_name or None,
            locale=locale_of(request),
            accept_terms=bool(form.get("accept_terms")),
        )
        new = await sessions.start(
            s,
            ctx,
            user,
            kind="web",
            ip=client_ip(request),
            user_agent=user_agent(request),
            device_token=device_token(request),
        )
    except DomainError as exc:
        return form_error(request, exc, SIGNUP, context)
    response = redirect("/wallet", notice="signed_up")  # with the next steps: PIN, card, top-up
    response.delete_cookie(SIGNUP_COOKIE, path="/signup")
    set_session_cookies(request, response, new)
    return response


# A language switch on a page that answered a POST comes back with GET: send it to the start.
@router.get("/signup/code")
async def signup_code_get() -> Response:
    return redirect("/signup")
