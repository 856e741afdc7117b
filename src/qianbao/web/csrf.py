"""CSRF protection by signed double submit.

A random token lives in an HttpOnly, SameSite=Lax cookie; pages embed HMAC(secret, token) in each
form (``csrf_token`` field) and in a meta tag HTMX sends as the ``X-CSRF-Token`` header. A post is
accepted only if the submitted value matches the cookie's HMAC: another site can make a browser
send the cookie, but cannot read or forge the matching value.

``secret`` is one key or several newest first (a rotation): pages get the newest key's value,
and a value made with any listed key is accepted, so forms opened before a rotation still post.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from qianbao.kernel.crypto import Keys, key_list

FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"


def new_cookie_token() -> str:
    return secrets.token_urlsafe(32)


def _token(key: bytes, cookie_token: str) -> str:
    return hmac.new(key, b"csrf:" + cookie_token.encode(), hashlib.sha256).hexdigest()


def form_token(secret: Keys, cookie_token: str) -> str:
    return _token(key_list(secret)[0], cookie_token)


def is_valid(secret: Keys, cookie_token: str | None, submitted: str | None) -> bool:
    if not cookie_token or not submitted:
        return False
    hit = False
    for key in key_list(secret):
        hit |= hmac.compare_digest(_token(key, cookie_token), submitted)
    return hit
