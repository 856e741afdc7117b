"""Text messages: a ``SmsSender`` protocol and two backends.

- ``OutboxSms`` (development) really delivers, to a local JSON Lines file: one object
  ``{"id", "to", "text", "sent_at"}`` per line, appended under an exclusive file lock (safe across
  threads and processes). A record id already in the file is not written again, so a retried job
  cannot send twice. With ``console_echo`` each message is also printed to stdout.
- ``TwilioSms`` sends through Twilio's Programmable Messaging REST API
  (``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, HTTP basic auth).

``sms_sender(settings)`` picks the backend from ``settings.sms``.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx

from qianbao.kernel.clock import Clock, system_clock
from qianbao.notifications.errors import DeliveryFailed


class SmsSender(Protocol):
    async def send(self, to_e164: str, text: str, *, idempotency_key: str) -> str:
        """Hand one message over for delivery; returns the provider's message id."""
        ...


class OutboxSms:
    """Development backend: every message lands in a JSON Lines file (and on the console)."""

    def __init__(
        self, path: Path, *, console_echo: bool = False, clock: Clock = system_clock
    ) -> None:
        self.path = Path(path)
        self.console_echo = console_echo
        self.clock = clock

    async def send(self, to_e164: str, text: str, *, idempotency_key: str) -> str:
        return (await self.send_many([(to_e164, text, idempotency_key)]))[0]

    async def send_many(self, messages: list[tuple[str, str, str]]) -> list[str]:
        """``send`` for many ``(to, text, idempotency key)`` at once: one file lock, one write."""
        now = self.clock.now().isoformat()  # UTC
        records = [
            {"id": key, "to": to, "text": text, "sent_at": now} for to, text, key in messages
        ]
        written = await asyncio.to_thread(self._append_once, records)
        if self.console_echo:
            for record, fresh in zip(records, written, strict=True):
                if fresh:
                    print(f"[SMS to {record['to']}] {record['text']}", flush=True)
        return [key for _, _, key in messages]

    # Ids already in each file and how far it was read, per process: under the lock only the
    # lines other processes appended since are read (the file is not re-read per message).
    _seen: ClassVar[dict[Path, tuple[int, int, set[str]]]] = {}  # inode, offset, ids

    def _append_once(self, records: list[dict[str, str]]) -> list[bool]:
        """Append each record whose id is not in the file yet. Returns which were written."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = self.path.resolve()
        with self.path.open("a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                stat = os.fstat(fh.fileno())
                inode, offset, ids = self._seen.get(key, (stat.st_ino, 0, set()))
                size = stat.st_size
                if inode != stat.st_ino or size < offset:  # replaced or truncated: read it all
                    offset, ids = 0, set()
                fh.seek(offset)
                for existing in fh.read(size - offset).splitlines():
                    found = _record_id(existing.decode("utf-8", errors="replace"))
                    if found is not None:
                        ids.add(found)
                written, lines = [], []
                for record in records:
                    fresh = record["id"] not in ids
                    written.append(fresh)
                    if fresh:
                        ids.add(record["id"])
                        lines.append((json.dumps(record, ensure_ascii=False) + "\n").encode())
                data = b"".join(lines)
                if data:
                    fh.seek(0, 2)
                    fh.write(data)
                    fh.flush()
                self._seen[key] = (stat.st_ino, size + len(data), ids)
                return written
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def messages(self) -> list[dict[str, Any]]:
        """Everything delivered so far (development tools and tests)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


def _record_id(line: str) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None  # a torn line from a crash: not ours to judge
    return value.get("id") if isinstance(value, dict) else None


class TwilioSms:
    """Twilio Programmable Messaging. ``sender`` is a number (``From``) or a Messaging Service
    SID starting with ``MG`` (``MessagingServiceSid``)."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = "https://api.twilio.com",
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.sender = sender
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.timeout_s = timeout_s
        self._transport = transport

    def __repr__(self) -> str:
        return f"TwilioSms(account_sid={self.account_sid!r}, sender={self.sender!r})"

    async def send(self, to_e164: str, text: str, *, idempotency_key: str) -> str:
        form = {"To": to_e164, "Body": text}
        if self.sender.startswith("MG"):
            form["MessagingServiceSid"] = self.sender
        else:
            form["From"] = self.sender
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout_s, transport=self._transport
            ) as client:
                response = await client.post(
                    self.url,
                    data=form,
                    auth=(self.account_sid, self._auth_token),
                    headers={"Accept": "application/json"},
                )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(
                f"twilio: network error ({type(exc).__name__})", retryable=True
            ) from None
        return self._result(response, to_e164, text)

    def _result(self, response: httpx.Response, to_e164: str, text: str) -> str:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code in (200, 201):
            sid = body.get("sid")
            # Accepted: never raise here, a retry would send the message twice.
            return str(sid) if sid else "twilio:unknown"
        status = response.status_code
        code = body.get("code")
        message = str(body.get("message") or response.reason_phrase or "error")
        # Provider messages may quote the request; keep the text and number out of our errors.
        for secret, label in ((text, "[text]"), (to_e164, "[to]")):
            if secret:
                message = message.replace(secret, label)
        message = message[:200]
        raise DeliveryFailed(
            f"twilio: HTTP {status}, error {code}: {message}",
            retryable=status == 429 or status >= 500,
            provider_code=None if code is None else str(code),
            http_status=status,
        )


def sms_sender(settings: Any, clock: Clock = system_clock) -> SmsSender:
    """The backend named by ``settings.sms.backend`` (``settings`` is a ``Settings``)."""
    sms = settings.sms
    if sms.backend == "outbox":
        return OutboxSms(sms.outbox_path, console_echo=sms.console_echo, clock=clock)
    if sms.backend == "twilio":
        missing = [
            name
            for name, value in (
                ("QIANBAO_SMS__TWILIO_ACCOUNT_SID", sms.twilio_account_sid),
                ("QIANBAO_SMS__TWILIO_AUTH_TOKEN", sms.twilio_auth_token),
                ("QIANBAO_SMS__TWILIO_FROM", sms.twilio_from),
            )
            if not value
        ]
        if missing:
            raise RuntimeError(f"QIANBAO_SMS__BACKEND=twilio needs {', '.join(missing)}.")
        return TwilioSms(
            account_sid=sms.twilio_account_sid,
            auth_token=sms.twilio_auth_token.get_secret_value(),
            sender=sms.twilio_from,
            base_url=sms.twilio_base_url,
            timeout_s=sms.timeout_s,
        )
    raise RuntimeError(f"unknown SMS backend {sms.backend!r}")
