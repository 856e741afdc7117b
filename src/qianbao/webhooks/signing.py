"""Standard Webhooks signing secrets (``whsec_`` + base64 of 32 random bytes), sealed at rest,
and the three headers every delivery carries.

During a rotation's overlap both the new and the previous secret sign each message: the
``webhook-signature`` header lists both signatures, space-separated, and a receiver that still
knows only one of the secrets accepts the message (the spec's several signatures)."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from qianbao.kernel.crypto import Sealer

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24 to 64
SEAL_PURPOSE = "webhook-secrets"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sealer(settings: Any) -> Sealer:
    """The sealer of endpoint secrets: one key derived from each data master key."""
    return Sealer.for_purpose(settings.data_key_bytes(), SEAL_PURPOSE)


def seal_secret(box: Sealer, endpoint_id: uuid.UUID, secret: str) -> str:
    """The secret sealed to its endpoint: a token copied to another row does not open."""
    return box.seal(secret.encode(), aad=str(endpoint_id).encode())


def open_secret(box: Sealer, endpoint_id: uuid.UUID, token: str) -> str:
    return box.open(token, aad=str(endpoint_id).encode()).decode()


def signed_headers(
    msg_id: str, timestamp: datetime, body: bytes, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The headers of one attempt: ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
    ``webhook-signature`` (one ``v1,<base64>`` per secret, newest first)."""
    signatures = " ".join(
        Webhook(secret).sign(msg_id, timestamp, body) for secret in signing_secrets
    )
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }
