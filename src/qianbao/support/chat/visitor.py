"""Visitors (not signed in) are recognised by a random token in a signed, HttpOnly cookie; the
database keeps only the token's SHA-256. ``secret`` is one key or several newest first: new
cookies are signed with the newest, a cookie signed with any listed key is still recognised."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from qianbao.kernel.crypto import Keys, key_list


def _sign(secret: bytes, token: str) -> str:
    key = hashlib.sha256(secret + b"|chat-visitor").digest()
    mac = hmac.new(key, token.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def new_cookie(secret: Keys) -> str:
    token = secrets.token_urlsafe(32)
    return f"{token}.{_sign(key_list(secret)[0], token)}"


def token_of(secret: Keys, cookie: str | None) -> str | None:
    """The token of a well-signed cookie, else None."""
    if not cookie or len(cookie) > 200 or "." not in cookie:
        return None
    token, _, sig = cookie.rpartition(".")
    if not token:
        return None
    hit = False
    for key in key_list(secret):
        hit |= hmac.compare_digest(sig, _sign(key, token))
    return token if hit else None


def visitor_hash(token: str) -> bytes:
    return hashlib.sha256(b"chat-visitor|" + token.encode()).digest()
