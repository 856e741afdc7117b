"""One attempt of one delivery: sign, POST, and describe what happened. No database here: the
dispatcher calls this with no connection held."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import httpx

from qianbao.kernel.clock import Clock
from qianbao.kernel.logging import get_logger
from qianbao.webhooks.signing import signed_headers

log = get_logger(__name__)

MAX_ERROR = 300
MAX_EXCERPT = 500
_READ_AT_MOST = 2048  # bytes of the answer kept for the excerpt; the rest is not read
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, ready to send: ``attempt`` is this try's number (1 = the first)."""

    delivery_id: int
    endpoint_id: uuid.UUID
    attempt: int
    msg_id: str
    url: str
    body: bytes
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    outgoing: Outgoing
    started_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None  # None: a 2xx answer
    excerpt: str | None
    ours: bool = False  # failed on our side (no secret to sign with): says nothing of the endpoint

    @property
    def ok(self) -> bool:
        return self.error is None


def _clean(text: str, limit: int) -> str:
    return _CONTROLS.sub("", text)[:limit]


async def _excerpt(response: httpx.Response) -> str | None:
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= _READ_AT_MOST:
            break
    text = _clean(data[:_READ_AT_MOST].decode("utf-8", errors="replace"), MAX_EXCERPT)
    return text or None


def _describe(exc: Exception) -> str:
    detail = str(exc) or type(exc).__name__
    return _clean(f"{type(exc).__name__}: {detail}", MAX_ERROR)


async def send(
    client: httpx.AsyncClient, item: Outgoing, clock: Clock, timeout_s: float
) -> Outcome:
    """POST the body with fresh Standard Webhooks headers; never raises for the endpoint's sake
    (a refused connection, a timeout, a 500 or a redirect are all failed attempts)."""
    started_at = clock.now()
    headers = signed_headers(item.msg_id, started_at, item.body, item.secrets)
    status: int | None = None
    excerpt: str | None = None
    error: str | None = None
    t0 = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", item.url, content=item.body, headers=headers) as r:
                status = r.status_code
                excerpt = await _excerpt(r)
    except (TimeoutError, httpx.TimeoutException):
        if status is None:  # a late body after the status line does not undo the answer
            error = f"timed out after {timeout_s:g} s"
    except httpx.HTTPError as exc:
        error = _describe(exc)
    except Exception as exc:  # a TLS or protocol surprise: still only this attempt fails
        error = _describe(exc)
    duration_ms = round((time.monotonic() - t0) * 1000)
    if error is None and status is not None and not 200 <= status < 300:
        redirect = 300 <= status < 400
        error = f"HTTP {status}: redirect not followed" if redirect else f"HTTP {status}"
    fields = {
        "delivery_id": item.delivery_id,
        "endpoint_id": str(item.endpoint_id),
        "webhook_id": item.msg_id,
        "attempt": item.attempt,
        "status_code": status,
        "duration_ms": duration_ms,
    }
    if error is None:
        log.info("webhook_delivered", **fields)
    else:
        log.warning("webhook_attempt_failed", error=error, **fields)
    return Outcome(item, started_at, status, duration_ms, error, excerpt)
