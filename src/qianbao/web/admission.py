"""Admission control: at most ``max_in_flight`` requests are worked on at once by this process;
one more waits up to ``admission_wait_ms`` for a place and is otherwise answered at once with
``503 service.unavailable`` and ``Retry-After``. Under three times the load it can take, the
service sheds the excess in milliseconds and keeps the requests it accepts fast, instead of
letting every request queue behind the others (issue 13, "Overload behaviour"; measured by
``make overload``). Health checks, static files and WebSockets are never held back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PREFIXES = ("/healthz", "/readyz", "/static/", "/favicon", "/sw.js")

Refuse = Callable[[Scope], Awaitable[Any]]


class Gate:
    """The places, shared by the middleware and /readyz (which reports them)."""

    def __init__(self, max_in_flight: int, wait_ms: int) -> None:
        self.max_in_flight = max_in_flight
        self.wait_s = max(0, wait_ms) / 1000
        self.in_flight = 0
        self.shed = 0  # refused since start
        self._slots: asyncio.Semaphore | None = None

    def report(self) -> dict[str, int]:
        return {"in_flight": self.in_flight, "max_in_flight": self.max_in_flight, "shed": self.shed}

    async def enter(self) -> bool:
        if self._slots is None:  # created on the serving loop
            self._slots = asyncio.Semaphore(self.max_in_flight)
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=self.wait_s)
            except TimeoutError:
                self.shed += 1
                return False
        else:
            await self._slots.acquire()
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1
        assert self._slots is not None
        self._slots.release()


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, *, gate: Gate, refuse: Refuse) -> None:
        self.app = app
        self.gate = gate
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.gate.max_in_flight <= 0
            or scope["path"].startswith(EXEMPT_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        if not await self.gate.enter():
            response = await self.refuse(scope)
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()
