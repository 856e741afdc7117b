"""Per client address limits applied at the edge, before a request touches the database.

A flood of sign-ins, code requests, ticket creations or searches from one address is refused with
``429 request.rate_limited`` and ``Retry-After`` by this middleware, from memory, without taking a
pooled connection or hashing a password: one client cannot turn its requests into everybody's wait
(issue 13). The per-account limits (sign-in lockout, code budgets, PIN tries) still apply behind it,
in the services, for attackers with many addresses.

Token buckets per (rule, address): ``per_minute`` requests a minute on average, up to
``per_minute`` at once. Time comes from the injected clock (tests pin it). The table is bounded
(the least recently seen addresses are forgotten first), so an attacker with many addresses costs
memory, not correctness. Each process keeps its own table: with ``--workers N`` an address may get
up to N times the limit.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from qianbao.kernel.clock import Clock

MAX_TRACKED = 100_000


@dataclass(frozen=True)
class Rule:
    """Requests whose method is in ``methods`` and whose path matches ``path`` (a full match)."""

    name: str
    methods: frozenset[str]
    path: re.Pattern[str]
    setting: str  # the field of ``settings.throttle`` that gives its requests a minute

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and self.path.fullmatch(path) is not None


def rule(name: str, methods: str, paths: Iterable[str]) -> Rule:
    return Rule(
        name=name,
        methods=frozenset(methods.split()),
        path=re.compile("|".join(f"(?:{p})" for p in paths)),
        setting=f"{name}_per_minute",
    )


class Buckets:
    """Token buckets per key, in memory, bounded."""

    def __init__(self, max_tracked: int = MAX_TRACKED) -> None:
        self.max_tracked = max_tracked
        self._state: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def take(self, key: tuple[str, str], per_minute: int, now: float) -> float:
        """Take one token: 0.0 if allowed, else the seconds until one is there."""
        capacity = float(per_minute)
        rate = per_minute / 60.0
        tokens, seen = self._state.pop(key, (capacity, now))
        tokens = min(capacity, tokens + max(0.0, now - seen) * rate)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._state[key] = (tokens, now)
            wait = (1.0 - tokens) / rate
        while len(self._state) > self.max_tracked:
            self._state.popitem(last=False)
        return wait

    def clear(self) -> None:
        self._state.clear()


Refuse = Callable[[Scope, int], Awaitable[Any]]


class ThrottleMiddleware:
    """Refuse a request over its rule's limit for its client address, before routing."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Callable[[], Any],
        clock: Clock,
        refuse: Refuse,
        buckets: Buckets,
    ) -> None:
        self.app = app
        self.limits = limits  # settings.throttle, read on each request: a change applies
        self.clock = clock
        self.refuse = refuse
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            for r in RULES:
                if not r.matches(method, path):
                    continue
                per_minute = int(getattr(self.limits(), r.setting))
                if per_minute > 0:
                    client = scope.get("client")
                    address = client[0] if client else "-"
                    wait = self.buckets.take((r.name, address), per_minute, self._now())
                    if wait > 0:
                        response = await self.refuse(scope, max(1, math.ceil(wait)))
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)

    def _now(self) -> float:
        return self.clock.now().timestamp()


# Compiled once; each rule's limit is the ``settings.throttle`` field named after it.
RULES: tuple[Rule, ...] = (
    rule(
        "sign_in",
        "POST",
        [
            "/api/v1/auth/login",
            "/api/v1/auth/login/second-factor",
            "/api/v1/auth/passkeys/login",
            "/login",
            "/login/2fa",
            "/login/passkey",
        ],
    ),
    rule(
        "codes",
        "POST",
        [
            "/api/v1/auth/signup/code",
            "/api/v1/auth/signup",
            "/api/v1/auth/password/forgot",
            "/api/v1/auth/password/reset",
            "/signup/code",
            "/signup",
            "/forgot/code",
            "/forgot",
        ],
    ),
    rule(
        "tickets",
        "POST",
        ["/api/v1/support/tickets", "/support/tickets/new"],
    ),
    rule(
        "chat",
        "POST",
        ["/api/v1/chat/messages", "/api/v1/chat/images"],
    ),
    rule("search", "GET", ["/api/v1/help/search", "/help/search"]),
    rule("verify", "POST GET", ["/verify", "/api/v1/support/verify"]),
)
