"""The identity JSON API, part 2: the security centre under /api/v1/me."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from qianbao.identity import accounts, freeze, passkeys, pin, security, sessions, totp
from qianbao.identity.api_common import (
    DbSession,
    Me,
    user_out,
)
from qianbao.identity.deps import (
    Caller,
    client_ip,
    identity_ctx,
    require_caller,
)
from qianbao.identity.phones import mask_phone
from qianbao.identity.schemas import (
    CodeIn,
    EmailIn,
    EmailVerifyIn,
    EnrolmentOut,
    EventOut,
    PasskeyIn,
    PasskeyOut,
    PasswordChangeIn,
    PasswordCodeIn,
    PhoneChangeIn,
    PhoneIn,
    PinCheckIn,
    PinIn,
    RecoveryCodesOut,
    SessionOut,
    UnfreezeIn,
    UserOut,
)
from qianbao.kernel.errors import NotFound
from qianbao.kernel.http import TxRoute, locale_of
from qianbao.notifications import inbox

me = APIRouter(prefix="/api/v1/me", tags=["security centre"], route_class=TxRoute)


# -- the security centre -------------------------------------------------------------------------
@me.get("", response_model=UserOut, summary="Who I am")
async def whoami(caller: Annotated[Caller, Depends(require_caller)]) -> UserOut:
    return user_out(caller.user)


@me.post("/email/code", status_code=202, summary="Send a code to verify an e-mail address")
async def email_code(body: EmailIn, request: Request, s: DbSession, caller: Me) -> dict[str, str]:
    await accounts.request_email_verification(
        s, identity_ctx(request), caller.user, email_raw=body.email, ip=client_ip(request)
    )
    return {"status": "sent"}


@me.post("/email/verify", response_model=UserOut, summary="Verify the e-mail address with its code")
async def email_verify(body: EmailVerifyIn, request: Request, s: DbSession, caller: Me) -> UserOut:
    await accounts.verify_email(
        s, identity_ctx(request), caller.user, email_raw=body.email, code=body.code
    )
    return user_out(caller.user)


@me.post("/phone/code", status_code=202, summary="Send a code to a new mobile number")
async def phone_code(body: PhoneIn, request: Request, s: DbSession, caller: Me) -> dict[str, str]:
    phone = await accounts.request_phone_change(
        s, identity_ctx(request), caller.user, phone_raw=body.phone, ip=client_ip(request)
    )
    return {"sent_to": mask_phone(phone)}


@me.post(
    "/phone",
    response_model=UserOut,
    summary="Change the mobile number (password + code to the new number)",
)
async def phone_change(body: PhoneChangeIn, request: Request, s: DbSession, caller: Me) -> UserOut:
    await accounts.change_phone(
        s,
        identity_ctx(request),
        caller.user,
        phone_raw=body.phone,
        code=body.code,
        password=body.password,
        ip=client_ip(request),
    )
    return user_out(caller.user)


@me.post("/password", status_code=204, summary="Change the password (ends other sessions)")
async def change_password(
    body: PasswordChangeIn, request: Request, s: DbSession, caller: Me
) -> Response:
    await accounts.change_password(
        s,
        identity_ctx(request),
        caller.user,
        caller.session,
        old_password=body.old_password,
        new_password=body.new_password,
        confirm=body.new_password_confirm,
        ip=client_ip(request),
    )
    return Response(status_code=204)


@me.post("/pin", status_code=204, summary="Set (or change, with the password) the payment PIN")
async def set_pin(body: PinIn, request: Request, s: DbSession, caller: Me) -> Response:
    await pin.set_pin(
        s,
        identity_ctx(request),
        caller.user,
        body.pin,
        password=body.password,
        ip=client_ip(request),
    )
    return Response(status_code=204)


@me.post("/pin/check", status_code=204, summary="Check the payment PIN (5 wrong tries lock it)")
async def check_pin(body: PinCheckIn, request: Request, s: DbSession, caller: Me) -> Response:
    await pin.verify_pin(s, identity_ctx(request), caller.user.id, body.pin)
    return Response(status_code=204)


@me.post("/pin/unlock/code", status_code=202, summary="Send the SMS code to unlock the PIN")
async def pin_unlock_code(request: Request, s: DbSession, caller: Me) -> dict[str, str]:
    await pin.request_unlock_code(s, identity_ctx(request), caller.user, ip=client_ip(request))
    return {"status": "sent"}


@me.post(
    "/pin/unlock", status_code=204, summary="Unlock the PIN with the password and the SMS code"
)
async def pin_unlock(body: PasswordCodeIn, request: Request, s: DbSession, caller: Me) -> Response:
    await pin.unlock(
        s,
        identity_ctx(request),
        caller.user,
        password=body.password,
        code=body.code,
        ip=client_ip(request),
    )
    return Response(status_code=204)


@me.post(
    "/2fa/setup",
    response_model=EnrolmentOut,
    summary="Start authenticator enrolment (secret and QR code)",
)
async def totp_setup(
    request: Request, s: DbSession, caller: Annotated[Caller, Depends(require_caller)]
) -> EnrolmentOut:
    enrolment = await totp.start_enrolment(s, identity_ctx(request), caller.user)
    return EnrolmentOut(secret=enrolment.secret, uri=enrolment.uri, qr_svg=enrolment.qr_svg)


@me.post(
    "/2fa/confirm",
    response_model=RecoveryCodesOut,
    summary="Turn 2FA on with a first code; returns recovery codes",
)
async def totp_confirm(
    body: CodeIn, request: Request, s: DbSession, caller: Annotated[Caller, Depends(require_caller)]
) -> RecoveryCodesOut:
    codes = await totp.confirm_enrolment(
        s, identity_ctx(request), caller.user, body.code, ip=client_ip(request)
    )
    return RecoveryCodesOut(recovery_codes=codes)


@me.post("/2fa/disable", status_code=204, summary="Turn 2FA off (needs a current code)")
async def totp_disable(body: CodeIn, request: Request, s: DbSession, caller: Me) -> Response:
    await totp.disable(s, identity_ctx(request), caller.user, body.code, ip=client_ip(request))
    return Response(status_code=204)


@me.post(
    "/2fa/step-up",
    status_code=204,
    summary="Confirm with the authenticator before a sensitive action",
)
async def totp_step_up(body: CodeIn, request: Request, s: DbSession, caller: Me) -> Response:
    await totp.step_up(s, identity_ctx(request), caller.user, caller.session, body.code)
    return Response(status_code=204)


@me.post("/passkeys/options", summary="Options for registering a passkey")
async def passkey_options(request: Request, s: DbSession, caller: Me) -> dict[str, Any]:
    return await passkeys.registration_options(s, identity_ctx(request), caller.user)


@me.post("/passkeys", response_model=PasskeyOut, status_code=201, summary="Register a passkey")
async def passkey_register(
    body: PasskeyIn, request: Request, s: DbSession, caller: Me
) -> PasskeyOut:
    cred = await passkeys.register(
        s,
        identity_ctx(request),
        caller.user,
        challenge_id=body.challenge_id,
        credential=body.credential,
        name=body.name,
        ip=client_ip(request),
    )
    return PasskeyOut(
        id=passkeys.credential_id_text(cred),
        name=cred.name,
        created_at=cred.created_at,
        last_used_at=None,
    )


@me.get("/passkeys", response_model=list[PasskeyOut], summary="My passkeys")
async def passkey_list(s: DbSession, caller: Me) -> list[PasskeyOut]:
    return [
        PasskeyOut(
            id=passkeys.credential_id_text(c),
            name=c.name,
            created_at=c.created_at,
            last_used_at=c.last_used_at,
        )
        for c in await passkeys.list_passkeys(s, caller.user)
    ]


@me.delete("/passkeys/{credential_id}", status_code=204, summary="Remove a passkey")
async def passkey_delete(
    credential_id: str, request: Request, s: DbSession, caller: Me
) -> Response:
    if not await passkeys.remove(
        s, identity_ctx(request), caller.user, credential_id, ip=client_ip(request)
    ):
        raise NotFound()
    return Response(status_code=204)


@me.get("/sessions", response_model=list[SessionOut], summary="Signed-in devices and sessions")
async def session_list(request: Request, s: DbSession, caller: Me) -> list[SessionOut]:
    rows = await sessions.active_sessions(s, identity_ctx(request), caller.user.id)
    return [
        SessionOut(
            id=sess.id,
            device=dev.name if dev else None,
            ip=sess.ip,
            created_at=sess.created_at,
            last_seen_at=sess.last_seen_at,
            current=sess.id == caller.session.id,
        )
        for sess, dev in rows
    ]


@me.delete("/sessions/{session_id}", status_code=204, summary="Sign out one session")
async def session_revoke(
    session_id: uuid.UUID, request: Request, s: DbSession, caller: Me
) -> Response:
    if not await sessions.revoke_own(s, identity_ctx(request), caller.user, session_id):
        raise NotFound()
    return Response(status_code=204)


@me.get("/security-events", response_model=list[EventOut], summary="Recent security events")
async def events(s: DbSession, caller: Me) -> list[EventOut]:
    return [
        EventOut(
            kind=e.kind, created_at=e.created_at, starts_cooling_off=e.starts_cooling_off, ip=e.ip
        )
        for e in await security.recent_events(s, caller.user.id)
    ]


@me.post("/freeze", status_code=204, summary="Freeze my account now (no password needed)")
async def freeze_me(
    request: Request, s: DbSession, caller: Annotated[Caller, Depends(require_caller)]
) -> Response:
    await freeze.freeze(s, identity_ctx(request), caller.user, ip=client_ip(request))
    return Response(status_code=204)


@me.post("/unfreeze/code", status_code=202, summary="Send the SMS code to unfreeze")
async def unfreeze_code(request: Request, s: DbSession, caller: Me) -> dict[str, str]:
    await freeze.request_unfreeze_code(s, identity_ctx(request), caller.user, ip=client_ip(request))
    return {"status": "sent"}


@me.post("/unfreeze", status_code=204, summary="Unfreeze with the password and the SMS code")
async def unfreeze_me(body: UnfreezeIn, request: Request, s: DbSession, caller: Me) -> Response:
    await freeze.unfreeze(
        s,
        identity_ctx(request),
        caller.user,
        password=body.password,
        code=body.code,
        ip=client_ip(request),
        authenticator_code=body.authenticator_code,
    )
    return Response(status_code=204)


class NotificationOut(BaseModel):
    id: str
    text: str
    link: str | None
    created_at: datetime
    read: bool


class InboxOut(BaseModel):
    unread: int
    notifications: list[NotificationOut]


class PreferencesIn(BaseModel):
    sms_money: bool
    email_money: bool
    sms_support: bool | None = Field(
        default=None, description="Customer service's answers by SMS (omitted: unchanged)."
    )
    email_support: bool | None = Field(
        default=None, description="Customer service's answers by e-mail (omitted: unchanged)."
    )


@me.get("/notifications", response_model=InboxOut, summary="In-app notifications, newest first")
async def notifications_list(request: Request, s: DbSession, caller: Me) -> InboxOut:
    shown = await inbox.inbox(s, caller.user.id, locale_of(request))
    return InboxOut(
        unread=await inbox.unread_count(s, caller.user.id),
        notifications=[
            NotificationOut(
                id=str(n.id), text=n.text, link=n.link, created_at=n.created_at, read=n.read
            )
            for n in shown
        ],
    )


@me.post("/notifications/read", status_code=204, summary="Mark every notification as read")
async def notifications_read(s: DbSession, caller: Me) -> Response:
    await inbox.mark_all_read(s, caller.user.id)
    return Response(status_code=204)


@me.get(
    "/notification-preferences",
    response_model=PreferencesIn,
    summary="SMS / e-mail for money movements and customer service's answers",
)
async def preferences_get(s: DbSession, caller: Me) -> PreferencesIn:
    prefs = await inbox.preferences(s, caller.user.id)
    return PreferencesIn(
        sms_money=prefs.sms_money,
        email_money=prefs.email_money,
        sms_support=prefs.sms_support,
        email_support=prefs.email_support,
    )


@me.put(
    "/notification-preferences",
    response_model=PreferencesIn,
    summary="Choose SMS / e-mail for money movements and customer service's answers",
)
async def preferences_put(body: PreferencesIn, s: DbSession, caller: Me) -> PreferencesIn:
    await inbox.set_preferences(
        s,
        caller.user.id,
        sms_money=body.sms_money,
        email_money=body.email_money,
        sms_support=body.sms_support,
        email_support=body.email_support,
    )
    return await preferences_get(s, caller)
