"""HTTP plumbing shared by every domain's JSON routes: one database transaction per request.

Routes declared on a router with ``route_class=TxRoute`` run inside one session. It commits when
the handler returns a response below 400, before the response is sent, and rolls back on an error
response or an exception: a failed request leaves the database exactly as it was.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from qianbao.kernel.clock import Clock
from qianbao.kernel.errors import OperatorOnly


class TxRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def in_transaction(request: Request) -> Response:
            db = request.app.state.db
            async with db.session() as session:
                request.state.db_session = session
                response = await handler(request)
                if response.status_code < 400:
                    await session.commit()
                else:
                    await session.rollback()
                return response

        return in_transaction


def locale_of(request: Request) -> str:
    """The language chosen for this request by the request-context middleware."""
    return getattr(request.state, "locale", None) or "zh_CN"


def db_session(request: Request) -> Any:
    """The request's session (an ``AsyncSession``), for passing to services."""
    session = getattr(request.state, "db_session", None)
    if session is None:
        raise RuntimeError("db_session used on a route without route_class=TxRoute")
    return session


async def db_session_dep(request: Request) -> Any:
    """``db_session`` as a FastAPI dependency. Async on purpose: FastAPI runs a plain ``def``
    dependency in a worker thread, which cost a thread hand-off on every request (issue 17)."""
    return db_session(request)


def settings_of(request: Request) -> Any:
    return request.app.state.settings


def site_of(request: Request) -> str:
    """This deployment's absolute base for links that leave the site (an outside provider's
    return URL, a transcript): the configured public URL, else the origin the request came in
    on (``settings.http.site_url``)."""
    return str(request.app.state.settings.http.site_url(str(request.base_url)))


def clock_of_app(request: Any) -> Clock:
    """The application's clock (``create_app(clock=...)``), for routes without a session;
    with a session, ``kernel.clock.clock_of(session)`` is the same clock."""
    return request.app.state.clock


async def require_operator(request: Request) -> None:
    """Operator-only JSON endpoints (until staff accounts exist): a bearer token from the
    settings (``QIANBAO_ADMIN__API_TOKEN``). Without a configured token the endpoints are off."""
    token = request.app.state.settings.admin.api_token
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if (
        token is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(value.encode(), token.get_secret_value().encode())
    ):
        raise OperatorOnly()
