"""Account pages: sign in (password, two-step, passkey), sign out, forgot password, and /home.
Sign-up is in ``signup_pages``. The security centre lives in ``security_pages`` and is included
here, so main.py includes one router for both. Pages call the identity services (the same ones
the JSON API calls), never SQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import Response

from qianbao.identity import accounts, login, passkeys, sessions
from qianbao.identity.deps import identity_ctx
from qianbao.identity.errors import (
    CodeCooldown,
    CodeSendLimit,
    PasskeyFailed,
    TwoFactorRequired,
)
from qianbao.identity.phones import mask_phone, normalize_phone
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.web.problems import PROBLEM_JSON, domain_problem
from qianbao.web.routes import security_pages
from qianbao.web.routes.account_common import (
    PENDING_COOKIE,
    clear_pending_cookie,
    clear_session_cookie,
    client_ip,
    code_cooldown,
    code_minutes,
    current_caller,
    device_token,
    form_error,
    form_values,
    mask_email,
    next_target,
    notice_of,
    phone_region,
    redirect,
    set_pending_cookie,
    set_session_cookies,
    user_agent,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

LOGIN = "account/login.html"
LOGIN_2FA = "account/login_2fa.html"
FORGOT = "account/forgot.html"


# -- sign in ---------------------------------------------------------------------------------------
@router.get("/home")
async def home_of_role(request: Request) -> Response:
    """Where signing in lands without a ``next``: a customer's wallet, a merchant's shop, an
    agent's console; staff without two-step verification set it up first."""
    caller = await current_caller(request)
    if caller is None:
        return redirect("/login")
    user = caller.user
    if user.is_staff and not user.two_factor_enabled:
        return redirect("/security/two-factor")
    if user.is_staff:
        return redirect("/console")
    if user.role == "merchant_staff":
        return redirect("/merchant")
    return redirect("/wallet")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None) -> Response:
    if await current_caller(request) is not None:
        return redirect(next_target(next))
    return render(
        request, LOGIN, {"phone": "", "next": next_target(next), "notice": notice_of(request)}
    )


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request) -> Response:
    form = await form_values(request)
    phone = form.get("phone", "").strip()
    target = next_target(form.get("next"))
    try:
        result = await login.login(
            db_session(request),
            identity_ctx(request),
            phone_raw=phone,
            password=form.get("password", ""),
            kind="web",
            ip=client_ip(request),
            user_agent=user_agent(request),
            device_token=device_token(request),
        )
    except DomainError as exc:
        return form_error(request, exc, LOGIN, {"phone": phone, "next": target})
    if result.needs_second_factor:
        response = redirect(f"/login/2fa?next={quote(target, safe='/')}")
        set_pending_cookie(request, response, result.new.token)
        return response
    response = redirect(target)
    set_session_cookies(request, response, result.new)
    return response


@router.get("/login/2fa", response_class=HTMLResponse)
async def second_factor_page(request: Request, next: str | None = None) -> Response:
    if not request.cookies.get(PENDING_COOKIE):
        return redirect("/login")
    return render(request, LOGIN_2FA, {"next": next_target(next)})


@router.post("/login/2fa", response_class=HTMLResponse)
async def second_factor_submit(request: Request) -> Response:
    form = await form_values(request)
    target = next_target(form.get("next"))
    pending = request.cookies.get(PENDING_COOKIE)
    if not pending:
        return redirect("/login")
    try:
        result = await login.complete_second_factor(
            db_session(request),
            identity_ctx(request),
            pending_token=pending,
            code=form.get("code", "").strip(),
            kind="web",
            ip=client_ip(request),
            user_agent=user_agent(request),
            device_token=device_token(request),
        )
    except DomainError as exc:
        return form_error(request, exc, LOGIN_2FA, {"next": target})
    response = redirect(target)
    clear_pending_cookie(request, response)
    set_session_cookies(request, response, result.new)
    return response


@router.post("/login/passkey")
async def passkey_login(request: Request) -> Response:
    """JSON, called by passkeys.js: {challenge_id, credential, next} -> {redirect}."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    try:
        if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
            raise PasskeyFailed()
        s = db_session(request)
        ctx = identity_ctx(request)
        user = await passkeys.authenticate(
            s,
            ctx,
            challenge_id=str(body.get("challenge_id", ""))[:64],
            credential=body["credential"],
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
        problem = domain_problem(exc, locale_of(request))
        return JSONResponse(
            problem.to_dict(
                instance=request.url.path, request_id=getattr(request.state, "request_id", None)
            ),
            status_code=problem.status,
            media_type=PROBLEM_JSON,
        )
    next_value = body.get("next") if isinstance(body.get("next"), str) else None
    response = JSONResponse({"redirect": next_target(next_value)})
    set_session_cookies(request, response, new)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is not None:
        await sessions.revoke(db_session(request), identity_ctx(request), caller.session.id)
    response = redirect("/login", notice="signed_out")
    clear_session_cookie(request, response)
    return response


# -- forgot password -------------------------------------------------------------------------------
def _reset_context(form: dict[str, str]) -> dict[str, Any]:
    channel = "email" if form.get("channel") == "email" else "sms"
    return {"step": "code", "channel": channel, "login": form.get("login", "").strip()}


def _masked_destination(request: Request, channel: str, login_value: str) -> str:
    if channel == "email":
        return mask_email(accounts.normalize_email(login_value))
    return mask_phone(normalize_phone(login_value, phone_region(request)))


@router.get("/forgot", response_class=HTMLResponse)
async def forgot_page(request: Request) -> Response:
    return render(request, FORGOT, {"step": "start", "channel": "sms", "login": ""})


@router.post("/forgot/code", response_class=HTMLResponse)
async def forgot_code(request: Request) -> Response:
    form = await form_values(request)
    context = _reset_context(form)
    resend = bool(form.get("resend"))
    if not resend:
        context["step"] = "start"
    else:
        context["sent_to"] = form.get("sent_to", "")
        context["need_2fa"] = bool(form.get("need_2fa"))
    try:
        await accounts.request_reset(
            db_session(request),
            identity_ctx(request),
            login=context["login"],
            channel=context["channel"],
            ip=client_ip(request),
            locale=locale_of(request),
        )
        context["sent_to"] = _masked_destination(request, context["channel"], context["login"])
    except CodeCooldown as wait:
        # Asked again too soon: the code sent a moment ago still works — its step, with the
        # count-down to a new one (the same for every number: nothing is told).
        left = int(request.app.state.settings.identity.otp_ttl_s) - code_cooldown(request)
        context.update(
            step="code",
            sent=True,
            sent_to=_masked_destination(request, context["channel"], context["login"]),
            minutes=max(1, (left + int(wait.params["seconds"])) // 60),
            resend_in=int(wait.params["seconds"]),
        )
        return render(request, FORGOT, context)
    except CodeSendLimit as exc:
        return form_error(request, exc, FORGOT, {**context, "way_out": True})
    except DomainError as exc:
        return form_error(request, exc, FORGOT, context)
    context.update(
        step="code", sent=True, minutes=code_minutes(request), resend_in=code_cooldown(request)
    )
    return render(request, FORGOT, context)


@router.post("/forgot", response_class=HTMLResponse)
async def forgot_reset(request: Request) -> Response:
    form = await form_values(request)
    context = _reset_context(form)
    context["sent_to"] = form.get("sent_to", "")
    context["need_2fa"] = bool(form.get("need_2fa"))
    code = form.get("code", "").strip()
    try:
        await accounts.reset_password(
            db_session(request),
            identity_ctx(request),
            login=context["login"],
            channel=context["channel"],
            code=code,
            new_password=form.get("password", ""),
            confirm=form.get("password_confirm", ""),
            second_factor=form.get("second_factor", "").strip() or None,
            ip=client_ip(request),
        )
    except TwoFactorRequired as exc:
        # The SMS/e-mail code was right and is still valid (the refusal rolled everything back):
        # keep it, and ask for the authenticator code as well.
        context.update(need_2fa=True, code=code)
        return form_error(request, exc, FORGOT, context)
    except DomainError as exc:
        return form_error(request, exc, FORGOT, context)
    return redirect("/login", notice="password_reset")


# A language switch on a page that answered a POST comes back with GET: send it to the start.
@router.get("/forgot/code")
async def forgot_code_get() -> Response:
    return redirect("/forgot")


router.include_router(security_pages.router)
