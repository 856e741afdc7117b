"""Pure ASGI middleware for the HTTP edge: request context, security headers, request guard."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qianbao.kernel.crypto import Keys
from qianbao.kernel.ids import new_request_id
from qianbao.kernel.logging import get_logger
from qianbao.web import csrf
from qianbao.web.i18n import HTML_LANG, negotiate

log = get_logger("qianbao.http")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

ErrorResponder = Callable[[Scope, str, int], Awaitable[Any]]


def _cookies(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    raw = headers.get("cookie")
    if raw:
        try:
            jar.load(raw)
        except Exception:
            return {}
    return {k: v.value for k, v in jar.items()}


class RequestContextMiddleware:
    """Request id, locale and CSRF cookie on ``scope["state"]``; one log line per request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_locale: str,
        locale_cookie: str,
        csrf_cookie: str,
        secret: Keys,
        secure_cookies: bool,
    ) -> None:
        self.app = app
        self.default_locale = default_locale
        self.locale_cookie = locale_cookie
        self.csrf_cookie = csrf_cookie
        self.secret = secret
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else new_request_id()
        cookies = _cookies(headers)
        locale = negotiate(
            cookies.get(self.locale_cookie), headers.get("accept-language"), self.default_locale
        )
        csrf_cookie = cookies.get(self.csrf_cookie)
        new_csrf = None
        if not csrf_cookie:
            new_csrf = csrf_cookie = csrf.new_cookie_token()
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state.update(
            request_id=request_id,
            locale=locale,
            csrf_cookie=csrf_cookie,
            csrf_token=csrf.form_token(self.secret, csrf_cookie),
        )
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                out["X-Request-ID"] = request_id
                if "content-language" not in out:
                    out["Content-Language"] = HTML_LANG[state.get("locale", locale)]
                if new_csrf is not None:
                    out.append("Set-Cookie", self._csrf_cookie_header(new_csrf))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    def _csrf_cookie_header(self, token: str) -> str:
        parts = [f"{self.csrf_cookie}={token}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.secure_cookies:
            parts.append("Secure")
        return "; ".join(parts)


class SecurityHeadersMiddleware:
    """Strict defaults on every response: CSP with 'self' only, no framing, no sniffing."""

    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
    )

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                h.setdefault("Content-Security-Policy", self.CSP)
                h.setdefault("X-Content-Type-Options", "nosniff")
                h.setdefault("X-Frame-Options", "DENY")
                h.setdefault("Referrer-Policy", "same-origin")
                h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                h.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
                if self.hsts:
                    h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
                if "cache-control" not in h and not scope["path"].startswith("/static/"):
                    h["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_wrapper)


# API paths an outside system posts a form to: Alipay's notifications (signed, no cookie).
FORM_TYPE = "application/x-www-form-urlencoded"
FORM_API_PATHS = frozenset({"/api/v1/payments/alipay/notify"})
# Messaging platforms' webhooks (support.im): no browser, no cookie; each proves itself (a
# signature, a secret header) and is checked by its route.
HOOK_PATHS = frozenset({"/hooks/wechat", "/hooks/telegram"})


class RequestGuardMiddleware:
    """Request size limits, JSON-only API bodies and CSRF checks for unsafe methods.

    - every body is capped (``max_body`` bytes, ``max_upload`` for multipart), whether or not
      the client sent Content-Length;
    - pages (outside ``/api/``): an unsafe method needs the CSRF value in the ``csrf_token`` form
      field or the ``X-CSRF-Token`` header;
    - API: bodies must be JSON (a cross-site HTML form cannot send that without CORS), and a
      request that rides on the session cookie instead of a bearer token needs the header too.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        max_upload: int,
        secret: Keys,
        session_cookie: str,
        respond_error: ErrorResponder,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.secret = secret
        self.session_cookie = session_cookie
        self.respond_error = respond_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        is_multipart = content_type == "multipart/form-data"
        limit = self.max_upload if is_multipart else self.max_body
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._reject(scope, receive, send, "request.too_large")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > limit:
                await self._reject(scope, receive, send, "request.too_large")
                return
            more = message.get("more_body", False)
        payload = bytes(body)

        async def replay() -> Message:
            nonlocal payload
            chunk, payload = payload, b""
            return {"type": "http.request", "body": chunk, "more_body": False}

        path: str = scope["path"]
        is_api = path.startswith("/api/")
        state = scope.get("state", {})
        if is_api:
            if (
                payload
                and content_type not in {"application/json", "application/merge-patch+json"}
                and not is_multipart
                and not (path in FORM_API_PATHS and content_type == FORM_TYPE)
            ):
                await self._reject(scope, replay, send, "request.unsupported_media_type")
                return
            uses_cookie = (
                self.session_cookie in _cookies(headers) and "authorization" not in headers
            )
            if uses_cookie and not csrf.is_valid(
                self.secret, state.get("csrf_cookie"), headers.get(csrf.HEADER)
            ):
                await self._reject(scope, replay, send, "csrf.failed")
                return
        elif path not in HOOK_PATHS:
            submitted = headers.get(csrf.HEADER) or await self._form_token(
                scope, payload, content_type
            )
            if not csrf.is_valid(self.secret, state.get("csrf_cookie"), submitted):
                await self._reject(scope, replay, send, "csrf.failed")
                return
            payload = bytes(body)
        await self.app(scope, replay, send)

    async def _form_token(self, scope: Scope, payload: bytes, content_type: str) -> str | None:
        if content_type == "application/x-www-form-urlencoded":
            values = parse_qs(payload.decode("latin-1"), keep_blank_values=True).get(
                csrf.FORM_FIELD
            )
            return values[0] if values else None
        if content_type == "multipart/form-data":
            sent = False

            async def once() -> Message:
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}

            request = Request(scope, once)
            try:
                form = await request.form(max_files=50, max_fields=200)
            except Exception:
                return None
            value = form.get(csrf.FORM_FIELD)
            await form.close()
            return value if isinstance(value, str) else None
        return None

    async def _reject(self, scope: Scope, receive: Receive, send: Send, code: str) -> None:
        response = await self.respond_error(scope, code, 0)
        await response(scope, receive, send)
