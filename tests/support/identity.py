"""Helpers for identity tests: deliver queued messages, read SMS codes, sign users up."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import httpx
from fastapi import FastAPI

from qianbao.tasks import register_tasks
from qianbao.worker import Worker, registry
from tests.support.secrets import remember

STRONG_PASSWORD = "correct horse battery staple"
_numbers = itertools.count(10_000_000)


def new_phone() -> str:
    """A valid, unused mainland mobile number (+86 139 xxxx xxxx)."""
    return f"139{next(_numbers) % 100_000_000:08d}"


def e164(phone: str) -> str:
    return "+86" + phone


async def deliver(app: FastAPI) -> int:
    """Run the worker until idle: queued SMS and e-mails land in the test outboxes."""
    register_tasks()
    # Jobs that call our own HTTP endpoints (the sandbox acquirer's callback) reach the app
    # under test through its ASGI interface.
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport) as http:
        return await Worker(
            app.state.db, registry, services={"settings": app.state.settings, "http": http}
        ).run_until_idle()


def sms_messages(app: FastAPI, phone_e164: str) -> list[str]:
    path = Path(app.state.settings.sms.outbox_path)
    if not path.exists():
        return []
    lines = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [m["text"] for m in lines if m["to"] == phone_e164]


async def last_code(app: FastAPI, destination: str) -> str:
    await deliver(app)
    if "@" in destination:
        folder = Path(app.state.settings.email.outbox_dir)
        texts = []
        import email
        from email import policy

        for file in sorted(folder.glob("*.eml")):
            msg = email.message_from_bytes(file.read_bytes(), policy=policy.default)
            if destination.lower() in str(msg["To"]).lower():
                body = msg.get_body(preferencelist=("plain",))
                texts.append(body.get_content() if body else "")
    else:
        texts = sms_messages(app, destination)
    for text in reversed(texts):
        match = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
        if match:
            remember(match.group(1))
            return match.group(1)
    raise AssertionError(f"no code was sent to {destination}: {texts}")


async def sign_up(
    client: httpx.AsyncClient, app: FastAPI, phone: str | None = None, **extra: object
) -> tuple[str, str]:
    """Sign a user up through the API; returns (phone, bearer token)."""
    phone = phone or new_phone()
    r = await client.post("/api/v1/auth/signup/code", json={"phone": phone})
    assert r.status_code == 202, r.text
    code = await last_code(app, e164(phone))
    r = await client.post(
        "/api/v1/auth/signup",
        json={
            "phone": phone,
            "code": code,
            "password": STRONG_PASSWORD,
            "password_confirm": STRONG_PASSWORD,
            "accept_terms": True,
            **extra,
        },
    )
    assert r.status_code == 201, r.text
    remember(STRONG_PASSWORD, r.json()["token"])
    return phone, r.json()["token"]


def bearer(token: str) -> dict[str, str]:
    remember(token)
    return {"Authorization": f"Bearer {token}"}
