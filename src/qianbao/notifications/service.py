"""Asking for a message: ``request`` records it in the caller's transaction (the outbox).

The message is sent by the ``notifications.deliver`` job only after the caller commits; a rolled
back transaction sends nothing. Secret values (one-time codes) go in ``secret_params`` and are
sealed with AES-GCM before they are stored, so the outbox table never holds a code in clear.

    sealer = outbox_sealer(settings)  # once per process
    await request(
        session, channel="sms", to="+8613800138000", template="otp.sign_up", locale="zh_CN",
        params={"minutes": 5}, secret_params={"code": "123456"}, sealer=sealer,
    )
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.kernel.crypto import Sealer
from qianbao.kernel.logging import is_secret_key
from qianbao.kernel.outbox import emit, emit_many
from qianbao.kernel.translations import LOCALES
from qianbao.notifications.templates import CHANNELS, Channel, get_template

TOPIC = "notifications.requested"
SEALER_PURPOSE = "outbox"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def outbox_sealer(settings: Any) -> Sealer:
    """The sealer for codes in transit through the outbox (``settings`` is a ``Settings``)."""
    return Sealer.for_purpose(settings.secret_keys_bytes(), SEALER_PURPOSE)


def sealed_aad(payload: Mapping[str, Any]) -> bytes:
    """Binds a sealed blob to its message: it cannot be replayed to another person or template."""
    return (
        f"qianbao.notifications:{payload['nid']}:{payload['channel']}:"
        f"{payload['to']}:{payload['template']}"
    ).encode()


def _check_params(params: Mapping[str, Any], secret_params: Mapping[str, str]) -> None:
    for key, value in params.items():
        if is_secret_key(key):
            raise ValueError(f"parameter {key!r} looks secret: pass it in secret_params")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise TypeError(f"parameter {key!r} must be a string or a number")
    for key, value in secret_params.items():
        if not isinstance(value, str):
            raise TypeError(f"secret parameter {key!r} must be a string")
        if key in params:
            raise ValueError(f"parameter {key!r} is given twice")


async def request(
    session: AsyncSession,
    *,
    channel: Channel,
    to: str,
    template: str,
    locale: str,
    params: Mapping[str, Any],
    secret_params: Mapping[str, str] | None = None,
    sealer: Sealer,
) -> None:
    """Ask for one message to ``to`` (E.164 number for ``sms``, address for ``email``), in the
    caller's transaction. ``params`` are stored in clear and must never hold secrets."""
    await emit(
        session,
        TOPIC,
        message(
            channel=channel,
            to=to,
            template=template,
            locale=locale,
            params=params,
            secret_params=secret_params,
            sealer=sealer,
        ),
    )


async def request_many(session: AsyncSession, messages: list[dict[str, Any]]) -> None:
    """Ask for many messages built with ``message`` in one statement (a worker's batch)."""
    await emit_many(session, TOPIC, messages)


def message(
    *,
    channel: Channel,
    to: str,
    template: str,
    locale: str,
    params: Mapping[str, Any],
    secret_params: Mapping[str, str] | None = None,
    sealer: Sealer,
) -> dict[str, Any]:
    """The checked outbox payload of one message (``request`` records it)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    pattern = _E164 if channel == "sms" else _EMAIL
    if not pattern.match(to):
        raise ValueError("not an E.164 phone number" if channel == "sms" else "not an address")
    secret = dict(secret_params or {})
    _check_params(params, secret)
    missing = get_template(template).placeholders(channel) - set(params) - set(secret)
    if missing:
        raise ValueError(f"template {template!r} needs {', '.join(sorted(missing))}")
    payload: dict[str, Any] = {
        "v": 1,
        "nid": secrets.token_hex(8),
        "channel": channel,
        "to": to,
        "template": template,
        "locale": locale,
        "params": dict(params),
    }
    if secret:
        payload["sealed"] = sealer.seal(json.dumps(secret).encode(), aad=sealed_aad(payload))
    return payload
