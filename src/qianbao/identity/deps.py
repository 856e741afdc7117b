"""Request dependencies: who is calling. A web session cookie (pages; CSRF-protected by the
request guard) or an API bearer token, both opaque, stored hashed and revocable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from qianbao.identity import sessions
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import NotSignedIn, StaffNeedsTwoFactor
from qianbao.identity.models import Session, User
from qianbao.kernel.http import db_session

DEVICE_COOKIE = "qb_device"


@dataclass
class Caller:
    user: User
    session: Session
    via: str  # "cookie" or "bearer"


def identity_ctx(request: Request) -> IdentityContext:
    ctx: IdentityContext = request.app.state.identity
    return ctx


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _token(request: Request) -> tuple[str | None, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip(), "bearer"
    cookie = request.app.state.settings.security.session_cookie
    return request.cookies.get(cookie), "cookie"


async def optional_caller(request: Request) -> Caller | None:
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return,unused-ignore]
    token, via = _token(request)
    if not token:
        return None
    found = await sessions.resolve(db_session(request), identity_ctx(request), token)
    if found is None:
        return None
    caller = Caller(user=found[1], session=found[0], via=via)
    request.state.caller = caller
    return caller


async def require_caller(request: Request) -> Caller:
    caller = await optional_caller(request)
    if caller is None:
        raise NotSignedIn()
    return caller


async def require_ready_caller(request: Request) -> Caller:
    """A signed-in caller allowed to act: staff must have enrolled 2FA first."""
    caller = await require_caller(request)
    if caller.user.is_staff and not caller.user.two_factor_enabled:
        raise StaffNeedsTwoFactor()
    return caller


def session_of(request: Request) -> Any:
    return db_session(request)
