"""The identity JSON API, part 1: sign-up, sign-in (password, 2FA, passkeys), sign-out and
password reset under /api/v1/auth. The security centre is in ``api_me``, staff in ``api_staff``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from qianbao.identity import accounts, login, passkeys, sessions
from qianbao.identity.api_common import (
    DEVICE_HEADER,
    DbSession,
    device_token,
    start_api_session,
)
from qianbao.identity.deps import (
    Caller,
    client_ip,
    identity_ctx,
    require_caller,
)
from qianbao.identity.errors import CodeCooldown, CodeSendLimit
from qianbao.identity.phones import mask_phone
from qianbao.identity.schemas import (
    ForgotIn,
    LoginIn,
    LoginOut,
    PasskeyIn,
    PhoneIn,
    ResetIn,
    SecondFactorIn,
    SignUpIn,
    TokenOut,
)
from qianbao.kernel.http import TxRoute, locale_of

auth = APIRouter(prefix="/api/v1/auth", tags=["sign-up and sign-in"], route_class=TxRoute)


# -- sign-up and sign-in -----------------------------------------------------------------------
@auth.post("/signup/code", status_code=202, summary="Send a sign-up code by SMS")
async def signup_code(body: PhoneIn, request: Request, s: DbSession) -> dict[str, Any]:
    ctx = identity_ctx(request)
    phone = await accounts.request_sign_up_code(
        s, ctx, phone_raw=body.phone, ip=client_ip(request), locale=locale_of(request)
    )
    return {"sent_to": mask_phone(phone), "expires_in": ctx.settings.identity.otp_ttl_s}


@auth.post(
    "/signup", status_code=201, response_model=TokenOut, summary="Create the account and sign in"
)
async def signup(body: SignUpIn, request: Request, response: Response, s: DbSession) -> TokenOut:
    ctx = identity_ctx(request)
    user = await accounts.sign_up(
        s,
        ctx,
        phone_raw=body.phone,
        code=body.code,
        password=body.password,
        confirm=body.password_confirm,
        real_name=body.real_name,
        birthday=body.birthday,
        locale=locale_of(request),
        accept_terms=body.accept_terms,
    )
    return await start_api_session(s, request, response, user)


@auth.post("/login", response_model=LoginOut, summary="Sign in with number and password")
async def do_login(body: LoginIn, request: Request, response: Response, s: DbSession) -> LoginOut:
    result = await login.login(
        s,
        identity_ctx(request),
        phone_raw=body.phone,
        password=body.password,
        kind="api",
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        device_token=device_token(request),
    )
    response.headers[DEVICE_HEADER] = result.new.device_token
    if result.needs_second_factor:
        return LoginOut(
            second_factor_required=True,
            pending_token=result.new.token,
            expires_at=result.new.session.expires_at,
        )
    return LoginOut(
        second_factor_required=False,
        token=result.new.token,
        expires_at=result.new.session.expires_at,
    )


@auth.post(
    "/login/second-factor",
    response_model=TokenOut,
    summary="Finish sign-in with an authenticator or recovery code",
)
async def second_factor(
    body: SecondFactorIn, request: Request, response: Response, s: DbSession
) -> TokenOut:
    result = await login.complete_second_factor(
        s,
        identity_ctx(request),
        pending_token=body.pending_token,
        code=body.code,
        kind="api",
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        device_token=device_token(request),
    )
    response.headers[DEVICE_HEADER] = result.new.device_token
    return TokenOut(token=result.new.token, expires_at=result.new.session.expires_at)


@auth.post("/logout", status_code=204, summary="End this session")
async def logout(
    request: Request, s: DbSession, caller: Annotated[Caller, Depends(require_caller)]
) -> Response:
    await sessions.revoke(s, identity_ctx(request), caller.session.id)
    return Response(status_code=204)


@auth.post(
    "/password/forgot", status_code=202, summary="Send a password-reset code (SMS or e-mail)"
)
async def forgot(body: ForgotIn, request: Request, s: DbSession) -> dict[str, str | int]:
    """202 for registered and unknown numbers alike. Asked again within the resend cooldown, no
    new code is sent (the one sent stays valid) and ``retry_after_s`` says when one can be."""
    try:
        await accounts.request_reset(
            s,
            identity_ctx(request),
            login=body.login,
            channel=body.channel,
            ip=client_ip(request),
            locale=locale_of(request),
        )
    except (CodeCooldown, CodeSendLimit) as wait:
        # No new code now (too soon, or the hour's budget is used): the same 202 for every
        # number, and when to ask again.
        return {"status": "sent_if_registered", "retry_after_s": wait.retry_after_s() or 1}
    return {"status": "sent_if_registered"}


@auth.post("/password/reset", status_code=204, summary="Set a new password with the code")
async def reset(body: ResetIn, request: Request, s: DbSession) -> Response:
    await accounts.reset_password(
        s,
        identity_ctx(request),
        login=body.login,
        channel=body.channel,
        code=body.code,
        new_password=body.password,
        confirm=body.password_confirm,
        second_factor=body.second_factor,
        ip=client_ip(request),
    )
    return Response(status_code=204)


@auth.post("/passkeys/options", summary="Options for signing in with a passkey")
async def passkey_login_options(request: Request, s: DbSession) -> dict[str, Any]:
    return await passkeys.authentication_options(s, identity_ctx(request))


@auth.post("/passkeys/login", response_model=TokenOut, summary="Sign in with a passkey")
async def passkey_login(
    body: PasskeyIn, request: Request, response: Response, s: DbSession
) -> TokenOut:
    ctx = identity_ctx(request)
    user = await passkeys.authenticate(
        s, ctx, challenge_id=body.challenge_id, credential=body.credential
    )
    return await start_api_session(s, request, response, user)
