"""Authenticated encryption for data at rest (AES-256-GCM) and key derivation.

``Sealer`` encrypts small values (card numbers, ID numbers, codes in transit through the outbox)
with a key derived from a master secret and a purpose label. Tokens carry a key id, so keys can be
rotated: new data is sealed with the first key, old data opens with any listed key.

    token = sealer.seal(b"6222021234567890123", aad=b"card")
    sealer.open(token, aad=b"card") -> b"6222021234567890123"
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"


class SealError(ValueError):
    """A token that is malformed, tampered with, or sealed with an unknown key."""


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose (``"card-numbers"``, ``"outbox"``) from a master secret."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"qianbao:{purpose}".encode()
    ).derive(master)


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"kid:" + key).hexdigest()[:8]


class Sealer:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._primary = keys[0]
        self._by_id = {key_id(k): AESGCM(k) for k in keys}
        self._primary_id = key_id(self._primary)

    @classmethod
    def for_purpose(cls, masters: list[bytes], purpose: str) -> Sealer:
        return cls([derive_key(m, purpose) for m in masters])

    def seal(self, plaintext: bytes, *, aad: bytes = b"") -> str:
        nonce = os.urandom(12)
        blob = self._by_id[self._primary_id].encrypt(nonce, plaintext, aad)
        payload = base64.urlsafe_b64encode(nonce + blob).decode().rstrip("=")
        return f"{VERSION}.{self._primary_id}.{payload}"

    def open(self, token: str, *, aad: bytes = b"") -> bytes:
        try:
            version, kid, payload = token.split(".", 2)
            if version != VERSION:
                raise SealError("unknown token version")
            cipher = self._by_id[kid]
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            return cipher.decrypt(raw[:12], raw[12:], aad)
        except (KeyError, ValueError, InvalidTag) as exc:
            raise SealError("cannot open this token") from exc
