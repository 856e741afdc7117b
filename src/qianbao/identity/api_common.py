"""Shared pieces of the identity JSON API: dependencies, the device header, the user shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response

from qianbao.identity import sessions
from qianbao.identity.deps import Caller, client_ip, identity_ctx, require_ready_caller
from qianbao.identity.models import User
from qianbao.identity.schemas import TokenOut, UserOut
from qianbao.kernel.http import db_session_dep

DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]
DEVICE_HEADER = "X-Device-Token"


def device_token(request: Request) -> str | None:
    return request.headers.get(DEVICE_HEADER) or request.cookies.get("qb_device")


async def start_api_session(s: Any, request: Request, response: Response, user: User) -> TokenOut:
    """A new bearer session for ``user``; the device token goes back in ``X-Device-Token``."""
    new = await sessions.start(
        s,
        identity_ctx(request),
        user,
        kind="api",
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        device_token=device_token(request),
    )
    response.headers[DEVICE_HEADER] = new.device_token
    return TokenOut(token=new.token, expires_at=new.session.expires_at)


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        phone=user.phone,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        real_name=user.real_name,
        role=user.role,
        locale=user.locale,
        kyc_tier=user.kyc_tier,
        frozen=user.frozen_at is not None,
        pin_set=user.pin_hash is not None,
        pin_locked=user.pin_locked_at is not None,
        two_factor_enabled=user.two_factor_enabled,
        created_at=user.created_at,
    )
