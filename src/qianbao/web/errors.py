"""The one place that turns errors into responses: RFC 9457 problem+json for the API and for
clients that ask for JSON, a friendly page in the user's language for browsers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from qianbao.kernel.db import is_bad_text, is_overload, sqlstate
from qianbao.kernel.errors import DomainError
from qianbao.kernel.logging import get_logger
from qianbao.web.problems import (
    PROBLEM_JSON,
    STATUS_CODES,
    Problem,
    domain_problem,
    edge_problem,
)
from qianbao.web.templating import locale_of, render

log = get_logger("qianbao.errors")


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path in {"/healthz", "/readyz"}:
        return True
    accept = request.headers.get("accept", "")
    if request.headers.get("hx-request"):
        return False
    return ("json" in accept) and "text/html" not in accept


def problem_response(
    request: Request, problem: Problem, headers: dict[str, str] | None = None
) -> Response:
    if wants_json(request):
        body = problem.to_dict(
            instance=request.url.path, request_id=getattr(request.state, "request_id", None)
        )
        return JSONResponse(
            body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers
        )
    template = "errors/404.html" if problem.status == 404 else "errors/error.html"
    if problem.status >= 500:
        template = "errors/500.html"
    block = "content" if request.headers.get("hx-request") else None
    return render(
        request,
        template,
        {"problem": problem},
        status_code=problem.status,
        block=block,
        headers=headers,
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    problem = domain_problem(exc, locale_of(request))
    wait = exc.retry_after_s()
    if wait is None:
        return problem_response(request, problem)
    problem.extra["retry_after_s"] = wait
    return problem_response(request, problem, headers={"Retry-After": str(wait)})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = STATUS_CODES.get(
        exc.status_code, "http.bad_request" if exc.status_code < 500 else "internal"
    )
    problem = edge_problem(code, locale_of(request))
    problem.status = exc.status_code
    return problem_response(request, problem, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    problem = edge_problem("request.validation_failed", locale_of(request), errors=errors)
    return problem_response(request, problem)


RETRY_AFTER_S = "2"


async def _unhandled(request: Request, exc: Exception) -> Response:
    if is_overload(exc):
        # Too busy right now (no connection in time, a lock or statement timeout): say so at
        # once and when to come back, instead of a 500 after a long wait.
        log.warning(
            "overloaded",
            path=request.url.path,
            error_type=type(exc).__name__,
            sqlstate=sqlstate(exc),
        )
        return problem_response(
            request,
            edge_problem("service.unavailable", locale_of(request)),
            headers={"Retry-After": RETRY_AFTER_S},
        )
    if is_bad_text(exc):
        log.warning("bad_text_refused", path=request.url.path)
        return problem_response(
            request, edge_problem("request.validation_failed", locale_of(request))
        )
    log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(request, edge_problem("internal", locale_of(request)))


async def respond_error(scope: Scope, code: str, _: int = 0) -> Response:
    """For middleware that rejects a request before routing."""
    request = Request(scope)
    return problem_response(request, edge_problem(code, locale_of(request)))


async def respond_busy(scope: Scope) -> Response:
    """For admission control: too many requests in flight right now; come back in a second."""
    request = Request(scope)
    return problem_response(
        request,
        edge_problem("service.unavailable", locale_of(request), retry_after_s=1),
        headers={"Retry-After": "1"},
    )


async def respond_rate_limited(scope: Scope, wait_s: int) -> Response:
    """For the per-address throttle: 429 with when to come back, in the user's language."""
    request = Request(scope)
    problem = edge_problem("request.rate_limited", locale_of(request), retry_after_s=wait_s)
    return problem_response(request, problem, headers={"Retry-After": str(wait_s)})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


class UnhandledErrorMiddleware:
    """Innermost guard: an unexpected exception becomes a 500 problem *inside* the middleware
    stack, so it still gets the request id, security headers and the user's language."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if started:
                raise
            request = Request(scope)
            response = await _unhandled(request, exc)
            await response(scope, receive, send)
