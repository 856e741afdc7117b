"""What identity services need from the outside world, built once per process."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from qianbao.kernel.clock import Clock, system_clock
from qianbao.kernel.crypto import MacKeys, Sealer

if TYPE_CHECKING:
    from qianbao.kernel.db import Database
    from qianbao.settings import Settings

TOTP_PURPOSE = "totp-secrets"
OUTBOX_PURPOSE = "outbox"


@dataclass
class IdentityContext:
    settings: Settings
    db: Database
    clock: Clock = field(default=system_clock)

    @cached_property
    def secrets(self) -> list[bytes]:
        """Every accepted secret key, newest first: the first signs and seals, all verify."""
        return self.settings.secret_keys_bytes()

    @cached_property
    def secret(self) -> bytes:
        return self.secrets[0]

    @cached_property
    def pin_peppers(self) -> list[bytes]:
        """Every accepted PIN pepper, newest first."""
        return self.settings.pin_peppers_bytes()

    @cached_property
    def pin_pepper(self) -> bytes:
        return self.pin_peppers[0]

    @cached_property
    def outbox_sealer(self) -> Sealer:
        """Seals one-time codes on their way through the outbox to the SMS/e-mail sender."""
        return Sealer.for_purpose(self.secrets, OUTBOX_PURPOSE)

    @cached_property
    def totp_sealer(self) -> Sealer:
        return Sealer.for_purpose(self.secrets, TOTP_PURPOSE)

    def macs(self, purpose: str) -> MacKeys:
        return keyed_macs(self.secrets, purpose)

    def keyed_hash(self, purpose: str, value: str) -> bytes:
        """HMAC-SHA256 under the newest secret key (its id recorded): for codes and tokens
        stored in the database. Check a stored one with ``keyed_matches``."""
        return self.macs(purpose).digest(value.encode())

    def keyed_matches(self, purpose: str, value: str, stored: bytes) -> bool:
        return self.macs(purpose).matches(value.encode(), stored)

    def keyed_hashes(self, purpose: str, value: str) -> list[bytes]:
        """Every stored form of ``value``'s keyed hash under the listed keys (SQL ``IN``)."""
        return self.macs(purpose).candidates(value.encode())


def keyed_macs(secrets: list[bytes], purpose: str) -> MacKeys:
    """The keyed hashes of one purpose under the secret keys (also used by `keys rewrap`)."""
    return MacKeys(secrets, purpose=purpose)


def token_hash(token: str) -> bytes:
    """Session and device tokens are 256-bit random values: a plain SHA-256 is enough at rest."""
    return hashlib.sha256(token.encode()).digest()
