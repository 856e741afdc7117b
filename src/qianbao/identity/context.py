"""What identity services need from the outside world, built once per process."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from qianbao.kernel.clock import Clock, system_clock
from qianbao.kernel.crypto import Sealer

if TYPE_CHECKING:
    from qianbao.kernel.db import Database
    from qianbao.settings import Settings


@dataclass
class IdentityContext:
    settings: Settings
    db: Database
    clock: Clock = field(default=system_clock)

    @cached_property
    def secret(self) -> bytes:
        return self.settings.secret_key_bytes()

    @cached_property
    def pin_pepper(self) -> bytes:
        return self.settings.pin_pepper_bytes()

    @cached_property
    def outbox_sealer(self) -> Sealer:
        """Seals one-time codes on their way through the outbox to the SMS/e-mail sender."""
        return Sealer.for_purpose([self.secret], "outbox")

    @cached_property
    def totp_sealer(self) -> Sealer:
        return Sealer.for_purpose([self.secret], "totp-secrets")

    def keyed_hash(self, purpose: str, value: str) -> bytes:
        """HMAC-SHA256 under the application secret: for codes and tokens stored in the database."""
        key = hashlib.sha256(self.secret + b"|" + purpose.encode()).digest()
        return hmac.new(key, value.encode(), hashlib.sha256).digest()


def token_hash(token: str) -> bytes:
    """Session and device tokens are 256-bit random values: a plain SHA-256 is enough at rest."""
    return hashlib.sha256(token.encode()).digest()
