"""CSRF protection by signed double submit.

A random token lives in an HttpOnly, SameSite=Lax cookie; pages embed HMAC(secret, token) in each
form (``csrf_token`` field) and in a meta tag HTMX sends as the ``X-CSRF-Token`` header. A post is
accepted only if the submitted value matches the cookie's HMAC: another site can make a browser
send the cookie, but cannot read or forge the matching value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"


def new_cookie_token() -> str:
    return secrets.token_urlsafe(32)


def form_token(secret: bytes, cookie_token: str) -> str:
    return hmac.new(secret, b"csrf:" + cookie_token.encode(), hashlib.sha256).hexdigest()


def is_valid(secret: bytes, cookie_token: str | None, submitted: str | None) -> bool:
    if not cookie_token or not submitted:
        return False
    return hmac.compare_digest(form_token(secret, cookie_token), submitted)
