"""Merchant API keys: ``qb_sk_`` + 43 random characters, shown once, stored as a keyed hash
(HMAC under the service's secret keys: a key this long cannot be guessed, so a slow hash would
only slow every API call). The first characters stay visible as the key's prefix. A rotated key
keeps working for an overlap (settings.merchants.key_rotation_overlap_hours); a revoked one stops
at once. Never logged: only the prefix appears anywhere but the hash."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from qianbao.identity.context import IdentityContext
from qianbao.kernel.clock import clock_of
from qianbao.kernel.text import plain_text
from qianbao.merchants.errors import (
    ApiKeyInvalid,
    ApiKeyNotFound,
    ApiKeyScope,
    MerchantNotFound,
    ScopesInvalid,
)
from qianbao.merchants.models import KEY_SCOPES, ApiKey, Merchant

PREFIX = "qb_sk_"
HASH_PURPOSE = "merchant-api-key"
VISIBLE = len(PREFIX) + 8
LAST_USED_EVERY = timedelta(seconds=60)  # last-used time is written at most once a minute


def _new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _scopes(scopes: list[str]) -> list[str]:
    chosen = sorted({s for s in scopes if s in KEY_SCOPES})
    if not chosen or len(chosen) != len(set(scopes)):
        raise ScopesInvalid()
    return chosen


async def create_key(
    session: Any,
    ctx: IdentityContext,
    merchant: Merchant,
    *,
    name: str,
    scopes: list[str],
    by: uuid.UUID | None,
) -> tuple[ApiKey, str]:
    """A new key; returns it and its secret, which is never shown again."""
    secret = _new_secret()
    key = ApiKey(
        merchant_id=merchant.id,
        name=(plain_text(name).strip() or "API key")[:60],
        prefix=secret[:VISIBLE],
        secret_hash=ctx.keyed_hash(HASH_PURPOSE, secret),
        scopes=_scopes(scopes),
        created_at=clock_of(session).now(),
        created_by=by,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def list_keys(session: Any, merchant_id: uuid.UUID) -> list[ApiKey]:
    return list(
        (
            await session.execute(
                select(ApiKey)
                .where(ApiKey.merchant_id == merchant_id)
                .order_by(ApiKey.status, ApiKey.created_at.desc())
            )
        ).scalars()
    )


async def _own(session: Any, merchant_id: uuid.UUID, key_id: str) -> ApiKey:
    try:
        wanted = uuid.UUID(str(key_id))
    except ValueError:
        raise ApiKeyNotFound() from None
    key = (
        await session.execute(
            select(ApiKey)
            .where(ApiKey.id == wanted, ApiKey.merchant_id == merchant_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if key is None:
        raise ApiKeyNotFound()
    return key


async def rotate_key(
    session: Any, ctx: IdentityContext, merchant: Merchant, key_id: str, *, by: uuid.UUID | None
) -> tuple[ApiKey, str]:
    """A new key with the same name and scopes; the old one works until the overlap ends."""
    old = await _own(session, merchant.id, key_id)
    if old.status != "active":
        raise ApiKeyNotFound()
    now = clock_of(session).now()
    new, secret = await create_key(session, ctx, merchant, name=old.name, scopes=old.scopes, by=by)
    overlap = timedelta(hours=ctx.settings.merchants.key_rotation_overlap_hours)
    old.expires_at = min(old.expires_at or now + overlap, now + overlap)
    old.replaced_by = new.id
    await session.flush()
    return new, secret


async def revoke_key(session: Any, merchant: Merchant, key_id: str) -> ApiKey:
    key = await _own(session, merchant.id, key_id)
    if key.status != "revoked":
        key.status = "revoked"
        key.revoked_at = clock_of(session).now()
        await session.flush()
    return key


async def authenticate(
    session: Any, ctx: IdentityContext, secret: str | None
) -> tuple[ApiKey, Merchant]:
    """The key and its merchant, or ``merchants.api_key_invalid`` (unknown, revoked, past its
    rotation overlap, or of a closed or rejected merchant)."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 100 or not secret.isascii():
        raise ApiKeyInvalid()
    now = clock_of(session).now()
    row = (
        await session.execute(
            select(ApiKey, Merchant)
            .join(Merchant, Merchant.id == ApiKey.merchant_id)
            .where(
                ApiKey.secret_hash.in_(ctx.keyed_hashes(HASH_PURPOSE, secret)),
                ApiKey.status == "active",
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
                Merchant.status.in_(("active", "suspended", "pending_review")),
            )
        )
    ).first()
    if row is None:
        raise ApiKeyInvalid()
    key, merchant = row
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return key, merchant


def require_scope(key: ApiKey, scope: str) -> None:
    if scope not in key.scopes:
        raise ApiKeyScope(scope=scope)


async def merchant_of_key(session: Any, key: ApiKey) -> Merchant:
    merchant = await session.get(Merchant, key.merchant_id)
    if merchant is None:
        raise MerchantNotFound()
    return merchant
