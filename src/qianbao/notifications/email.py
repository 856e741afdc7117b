"""E-mail: building RFC 5322 messages, an ``EmailSender`` protocol and two backends.

- ``FileEmail`` (development) writes one ``.eml`` file per message into a folder, named
  ``<UTC timestamp>-<Message-ID>.eml``. A Message-ID already in the folder is not written again,
  so a retried job with the same Message-ID cannot send twice.
- ``SmtpEmail`` sends through an SMTP server with aiosmtplib (implicit TLS or STARTTLS, optional
  login).

``email_sender(settings)`` picks the backend from ``settings.email``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from qianbao.kernel.clock import Clock, system_clock
from qianbao.notifications.errors import DeliveryFailed

Attachment = tuple[str, str, bytes]
"""(file name, content type such as ``application/pdf``, content)."""

_RESERVED_HEADERS = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version"}


class EmailSender(Protocol):
    async def send(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
        headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
    ) -> str:
        """Hand one message over for delivery; returns its Message-ID."""
        ...


def sender_domain(from_address: str) -> str:
    """The domain of the From address (``Qianbao <no-reply@example.com>`` -> ``example.com``)."""
    _, address = parseaddr(from_address)
    domain = address.rpartition("@")[2]
    return domain or "qianbao.local"


def new_message_id(from_address: str, key: str | None = None) -> str:
    """A Message-ID in the From address's domain. With ``key`` (such as ``job-42-…``) it is
    deterministic, so a retried delivery carries the same id; otherwise unique."""
    domain = sender_domain(from_address)
    if key is not None:
        safe = re.sub(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]", "-", key)
        return f"<{safe}@{domain}>"
    return make_msgid(domain=domain)


def build_message(
    *,
    from_address: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
    date: datetime,
) -> EmailMessage:
    """A complete message: plain text (and HTML alternative), attachments, Message-ID, Date."""
    if "\r" in to or "\n" in to or "@" not in to:
        raise ValueError("not a single e-mail address")
    msg = EmailMessage()
    msg["From"] = from_address
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date.astimezone(UTC))
    msg["Message-ID"] = message_id or new_message_id(from_address)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    for name, value in (headers or {}).items():
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by build_message")
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=filename,
        )
    return msg


class _BuildsMessages:
    """What both backends share: build the RFC 5322 message, then ``_deliver`` it."""

    from_address: str
    clock: Clock = system_clock

    async def send(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
        headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
    ) -> str:
        msg = build_message(
            from_address=self.from_address,
            to=to,
            subject=subject,
            text=text,
            html=html,
            attachments=attachments,
            headers=headers,
            message_id=message_id,
            date=self.clock.now(),
        )
        await self._deliver(msg)
        return str(msg["Message-ID"])

    async def _deliver(self, msg: EmailMessage) -> None:
        raise NotImplementedError


class FileEmail(_BuildsMessages):
    """Development backend: one RFC 5322 ``.eml`` file per message in ``outbox_dir``."""

    def __init__(self, outbox_dir: Path, *, from_address: str, clock: Clock = system_clock) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.from_address = from_address
        self.clock = clock

    async def _deliver(self, msg: EmailMessage) -> None:
        await asyncio.to_thread(self._write_once, msg)

    def _write_once(self, msg: EmailMessage) -> Path:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", str(msg["Message-ID"]).strip("<> "))
        with (self.outbox_dir / ".lock").open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                existing = sorted(self.outbox_dir.glob(f"*-{stem}.eml"))
                if existing:
                    return existing[0]
                stamp = self.clock.now().strftime("%Y%m%dT%H%M%S%fZ")  # UTC
                path = self.outbox_dir / f"{stamp}-{stem}.eml"
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(msg.as_bytes(policy=SMTP))
                os.replace(tmp, path)
                return path
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def files(self) -> list[Path]:
        """The delivered messages, oldest first (development tools and tests)."""
        return sorted(self.outbox_dir.glob("*.eml")) if self.outbox_dir.exists() else []


class SmtpEmail(_BuildsMessages):
    """Sends through an SMTP server (aiosmtplib)."""

    def __init__(
        self,
        *,
        from_address: str,
        host: str,
        port: int,
        starttls: bool = False,
        tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 15.0,
        clock: Clock = system_clock,
    ) -> None:
        self.from_address = from_address
        self.clock = clock
        self.host = host
        self.port = port
        self.starttls = starttls
        self.tls = tls
        self.username = username
        self._password = password
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"SmtpEmail(host={self.host!r}, port={self.port!r}, username={self.username!r})"

    async def _deliver(self, msg: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                use_tls=self.tls,
                start_tls=self.starttls,
                username=self.username,
                password=self._password,
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise DeliveryFailed(
                f"smtp: recipient refused ({', '.join(map(str, codes))})",
                retryable=all(400 <= c < 500 for c in codes),
                provider_code=",".join(map(str, codes)),
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"smtp: server answered {exc.code}",
                retryable=400 <= exc.code < 500,
                provider_code=str(exc.code),
            ) from None
        except aiosmtplib.SMTPNotSupported as exc:
            raise DeliveryFailed(
                f"smtp: not supported by the server: {exc}", retryable=False
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"smtp: cannot reach {self.host}:{self.port} ({type(exc).__name__})",
                retryable=True,
            ) from None


def email_sender(settings: Any, clock: Clock = system_clock) -> EmailSender:
    """The backend named by ``settings.email.backend`` (``settings`` is a ``Settings``); its
    messages are dated by ``clock`` (the worker's)."""
    em = settings.email
    if em.backend == "file":
        return FileEmail(em.outbox_dir, from_address=em.from_address, clock=clock)
    if em.backend == "smtp":
        return SmtpEmail(
            from_address=em.from_address,
            host=em.smtp_host,
            port=em.smtp_port,
            starttls=em.smtp_starttls,
            tls=em.smtp_tls,
            username=em.smtp_username,
            password=em.smtp_password.get_secret_value() if em.smtp_password else None,
            timeout_s=em.timeout_s,
            clock=clock,
        )
    raise RuntimeError(f"unknown e-mail backend {em.backend!r}")
