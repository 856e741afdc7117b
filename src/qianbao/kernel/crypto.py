"""Authenticated encryption for data at rest (AES-256-GCM) and key derivation.

``Sealer`` encrypts small values (card numbers, ID numbers, codes in transit through the outbox)
with a key derived from a master secret and a purpose label. Tokens carry a key id, so keys can be
rotated: new data is sealed with the first key, old data opens with any listed key.

    token = sealer.seal(b"6222021234567890123", aad=b"card")
    sealer.open(token, aad=b"card") -> b"6222021234567890123"

``MacKeys`` is the same idea for keyed hashes stored in the database (PIN hashes, code hashes,
card fingerprints): a digest records the id of the key that made it, so a check tries the right
key and an operator can count what still depends on an old key. ``Keys`` (one key, or a list
newest first) is what signers take: they sign with the first and accept any.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
# A tagged keyed hash: TAG, the 4-byte key id, the 32-byte HMAC-SHA256.
TAG = b"\x01"
TAGGED_LEN = 1 + 4 + 32

Keys = bytes | Sequence[bytes]  # one key, or several newest first


def key_list(keys: Keys) -> list[bytes]:
    """``keys`` as a non-empty list, newest first."""
    found = [keys] if isinstance(keys, bytes) else list(keys)
    if not found:
        raise ValueError("at least one key is needed")
    return found


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

    @property
    def primary_id(self) -> str:
        """The id of the key new tokens are sealed with."""
        return self._primary_id

    @staticmethod
    def key_id_of(token: str) -> str | None:
        """The id of the key a token names (None for a malformed token)."""
        parts = token.split(".", 2)
        return parts[1] if len(parts) == 3 and parts[0] == VERSION else None

    def is_current(self, token: str) -> bool:
        """Sealed with the newest key: nothing to re-seal."""
        return self.key_id_of(token) == self._primary_id

    def reseal(self, token: str, *, aad: bytes = b"") -> str:
        """The same plaintext sealed with the newest key (raises ``SealError`` like ``open``)."""
        return self.seal(self.open(token, aad=aad), aad=aad)

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


class MacKeys:
    """HMAC-SHA256 under a list of keys, newest first.

    ``digest`` uses the newest key and records its id (``TAG + key id + MAC``); ``matches``
    checks a stored digest under the key it names, or, for a digest made before ids were
    recorded (a bare 32-byte MAC), under any listed key. ``derive`` turns a master key into the
    HMAC key (one master, several purposes); ids are of the masters."""

    def __init__(self, masters: Keys, *, purpose: str | None = None) -> None:
        self._keys: list[tuple[bytes, bytes]] = []  # (id bytes, HMAC key)
        for master in key_list(masters):
            mac_key = (
                master
                if purpose is None
                else hashlib.sha256(master + b"|" + purpose.encode()).digest()
            )
            self._keys.append((bytes.fromhex(key_id(master)), mac_key))
        self.primary_id = self._keys[0][0].hex()

    def _mac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, hashlib.sha256).digest()

    def digest(self, message: bytes) -> bytes:
        kid, key = self._keys[0]
        return TAG + kid + self._mac(key, message)

    def candidates(self, message: bytes) -> list[bytes]:
        """Every stored form ``message`` may have under the listed keys (for SQL ``IN``)."""
        found = []
        for kid, key in self._keys:
            mac = self._mac(key, message)
            found += [TAG + kid + mac, mac]
        return found

    def matches(self, message: bytes, stored: bytes) -> bool:
        stored = bytes(stored)
        if len(stored) == TAGGED_LEN and stored[:1] == TAG:
            for kid, key in self._keys:
                if kid == stored[1:5]:
                    return hmac.compare_digest(stored[5:], self._mac(key, message))
            return False
        hit = False
        for _, key in self._keys:  # an untagged digest: any key, in constant time per key
            hit |= hmac.compare_digest(stored, self._mac(key, message))
        return hit

    def is_current(self, stored: bytes) -> bool:
        """Made with the newest key (its id is recorded)."""
        return tag_id(stored) == self.primary_id


def tag_id(stored: bytes) -> str | None:
    """The key id a tagged digest records (None for an untagged one)."""
    stored = bytes(stored)
    if len(stored) == TAGGED_LEN and stored[:1] == TAG:
        return stored[1:5].hex()
    return None


def tag_prefix(kid: str) -> bytes:
    """The first bytes of every digest tagged with key ``kid`` (for SQL prefix checks)."""
    return TAG + bytes.fromhex(kid)
