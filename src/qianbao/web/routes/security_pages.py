"""The security centre (/security): password, payment PIN, two-step verification, passkeys,
devices and sessions, recent security events, freezing the account, e-mail address.

Each form posts to its own action. Success redirects back with a notice (?notice=key); a refusal
re-renders the whole page with the message inside the form that caused it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity import accounts, freeze, passkeys, pin, sessions, totp
from qianbao.identity.deps import Caller, identity_ctx
from qianbao.identity.errors import PinFormat
from qianbao.kernel.errors import DomainError, NotFound
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import is_ascii_digits
from qianbao.web.routes.account_common import (
    client_ip,
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.routes.security_view import SECTIONS, security_page
from qianbao.web.templating import render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

Action = Callable[[Caller, dict[str, str]], Awaitable[Response | None]]


class PinsDiffer(DomainError):
    """Page-level check: the service takes one PIN, the form asks for it twice."""

    code = "identity.pins_differ"
    message = N_("The two PINs are not the same.")


async def _act(
    request: Request, section: str, action: Action, *, notice: str = "", ready: bool = True
) -> Response:
    """Signed-in only; run ``action`` with the posted form. Success: back to the section with a
    notice (or the action's own response); a refusal: the page with the message in the form."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    try:
        if ready:  # staff must turn on two-step verification before anything else
            ensure_ready(caller)
        response = await action(caller, form)
    except DomainError as exc:
        return await security_page(request, caller, section=section, exc=exc)
    return response or redirect(f"/security/{section}", notice=notice)


def _svc(request: Request) -> tuple[Any, Any, str | None]:
    return db_session(request), identity_ctx(request), client_ip(request)


@router.get("/security", response_class=HTMLResponse)
async def security_centre(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await security_page(request, caller)


@router.post("/security/password", response_class=HTMLResponse)
async def change_password(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> None:
        await accounts.change_password(
            s,
            ctx,
            caller.user,
            caller.session,
            old_password=form.get("old_password", ""),
            new_password=form.get("new_password", ""),
            confirm=form.get("new_password_confirm", ""),
            ip=ip,
        )

    return await _act(request, "password", act, notice="password_changed")


@router.post("/security/pin", response_class=HTMLResponse)
async def set_pin(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> Response:
        new_pin = form.get("pin", "").strip()
        changing = caller.user.pin_hash is not None
        if not is_ascii_digits(new_pin, 6):
            raise PinFormat()
        if new_pin != form.get("pin_confirm", "").strip():
            raise PinsDiffer()
        password = form.get("password") if changing else None
        await pin.set_pin(s, ctx, caller.user, new_pin, password=password, ip=ip)
        if changing or caller.user.role != "user":
            return redirect("/security/pin", notice="pin_changed" if changing else "pin_set")
        return redirect("/wallet", notice="pin_set")  # the wallet shows the next step

    return await _act(request, "pin", act)


@router.post("/security/pin/unlock/code", response_class=HTMLResponse)
async def pin_unlock_code(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> None:
        await pin.request_unlock_code(s, ctx, caller.user, ip=ip)

    return await _act(request, "pin", act, notice="code_sent")


@router.post("/security/pin/unlock", response_class=HTMLResponse)
async def pin_unlock(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> None:
        await pin.unlock(
            s,
            ctx,
            caller.user,
            password=form.get("password", ""),
            code=form.get("code", "").strip(),
            ip=ip,
        )

    return await _act(request, "pin", act, notice="pin_unlocked")


@router.post("/security/2fa/setup", response_class=HTMLResponse)
async def totp_setup(request: Request) -> Response:
    s, ctx, _ = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> Response:
        enrolment = await totp.start_enrolment(s, ctx, caller.user)
        return await security_page(request, caller, section="two-factor", enrolment=enrolment)

    return await _act(request, "two-factor", act, ready=False)


@router.post("/security/2fa/confirm", response_class=HTMLResponse)
async def totp_confirm(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> Response:
        code = form.get("code", "").strip()
        codes = await totp.confirm_enrolment(s, ctx, caller.user, code, ip=ip)
        # Shown once, right here: they are stored hashed and cannot be shown again.
        return await security_page(request, caller, section="two-factor", recovery_codes=codes)

    return await _act(request, "two-factor", act, ready=False)


@router.post("/security/2fa/disable", response_class=HTMLResponse)
async def totp_disable(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> None:
        await totp.disable(s, ctx, caller.user, form.get("code", "").strip(), ip=ip)

    return await _act(request, "two-factor", act, notice="two_factor_off")


@router.post("/security/passkeys/{credential_id}/remove", response_class=HTMLResponse)
async def passkey_remove(request: Request, credential_id: str) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> None:
        if not await passkeys.remove(s, ctx, caller.user, credential_id[:400], ip=ip):
            raise NotFound()

    return await _act(request, "passkeys", act, notice="passkey_removed")


@router.post("/security/sessions/{session_id}/revoke", response_class=HTMLResponse)
async def session_revoke(request: Request, session_id: uuid.UUID) -> Response:
    s, ctx, _ = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> Response | None:
        if not await sessions.revoke_own(s, ctx, caller.user, session_id):
            raise NotFound()
        return redirect("/login", notice="signed_out") if session_id == caller.session.id else None

    return await _act(request, "sessions", act, notice="session_revoked")


@router.get("/security/freeze/confirm", response_class=HTMLResponse)
async def freeze_confirm(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    if caller.user.frozen_at is not None:
        return redirect("/security/freeze")
    return render(request, "account/freeze_confirm.html")


@router.post("/security/freeze", response_class=HTMLResponse)
async def freeze_now(request: Request) -> Response:
    """One step, no password: speed matters when a phone is lost (the confirm page came first)."""
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> None:
        await freeze.freeze(s, ctx, caller.user, ip=ip)

    return await _act(request, "freeze", act, notice="frozen", ready=False)


@router.post("/security/unfreeze/code", response_class=HTMLResponse)
async def unfreeze_code(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> None:
        await freeze.request_unfreeze_code(s, ctx, caller.user, ip=ip)

    return await _act(request, "freeze", act, notice="code_sent")


@router.post("/security/unfreeze", response_class=HTMLResponse)
async def unfreeze_now(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> None:
        await freeze.unfreeze(
            s,
            ctx,
            caller.user,
            password=form.get("password", ""),
            code=form.get("code", "").strip(),
            ip=ip,
            authenticator_code=form.get("authenticator_code", "").strip() or None,
        )

    return await _act(request, "freeze", act, notice="unfrozen")


@router.post("/security/email/code", response_class=HTMLResponse)
async def email_code(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> Response:
        typed = form.get("email", "").strip()
        try:
            email = await accounts.request_email_verification(
                s, ctx, caller.user, email_raw=typed, ip=ip
            )
        except DomainError as exc:  # keep what was typed
            return await security_page(request, caller, section="email", exc=exc, email_typed=typed)
        return await security_page(request, caller, section="email", email_pending=email)

    return await _act(request, "email", act)


@router.post("/security/email/verify", response_class=HTMLResponse)
async def email_verify(request: Request) -> Response:
    s, ctx, _ = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> Response | None:
        email = form.get("email", "").strip()
        try:
            code = form.get("code", "").strip()
            await accounts.verify_email(s, ctx, caller.user, email_raw=email, code=code)
        except DomainError as exc:  # ask for the code again, for the same address
            return await security_page(
                request, caller, section="email", exc=exc, email_pending=email
            )
        return None

    return await _act(request, "email", act, notice="email_verified")


@router.post("/security/phone/code", response_class=HTMLResponse)
async def phone_code(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> Response:
        typed = form.get("phone", "").strip()
        try:
            phone = await accounts.request_phone_change(s, ctx, caller.user, phone_raw=typed, ip=ip)
        except DomainError as exc:  # keep what was typed
            return await security_page(request, caller, section="phone", exc=exc, phone_typed=typed)
        return await security_page(request, caller, section="phone", phone_pending=phone)

    return await _act(request, "phone", act)


@router.post("/security/phone", response_class=HTMLResponse)
async def phone_change(request: Request) -> Response:
    s, ctx, ip = _svc(request)

    async def act(caller: Caller, form: dict[str, str]) -> Response | None:
        phone = form.get("phone", "").strip()
        try:
            await accounts.change_phone(
                s,
                ctx,
                caller.user,
                phone_raw=phone,
                code=form.get("code", "").strip(),
                password=form.get("password", ""),
                ip=ip,
            )
        except DomainError as exc:  # ask for the code again, for the same number
            return await security_page(
                request, caller, section="phone", exc=exc, phone_pending=phone
            )
        return None

    return await _act(request, "phone", act, notice="phone_changed")


@router.get("/security/{section}", response_class=HTMLResponse)
async def security_section(request: Request, section: str) -> Response:
    """One section of the security centre on its own page."""
    if section not in SECTIONS:
        return redirect("/security")
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await security_page(request, caller, section=section)


@router.get("/security/{action:path}")
async def security_action_get(action: str) -> Response:
    """A language switch on a page that answered a POST comes back with GET: to the section
    the action belongs to."""
    first = action.split("/", 1)[0]
    return redirect(f"/security/{first}" if first in SECTIONS else "/security")
