"""Passkeys (WebAuthn, the ``webauthn`` package): register one while signed in, then sign in
with it instead of a password ("fingerprint / face" login). Challenges are single use and
expire after five minutes; the signature counter must grow."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from qianbao.identity import security
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import PasskeyFailed
from qianbao.identity.models import PasskeyChallenge, PasskeyCredential, User

CHALLENGE_MINUTES = 5


async def _new_challenge(
    session: AsyncSession,
    ctx: IdentityContext,
    *,
    purpose: str,
    challenge: bytes,
    user_id: uuid.UUID | None,
) -> uuid.UUID:
    row = PasskeyChallenge(
        user_id=user_id,
        purpose=purpose,
        challenge=challenge,
        expires_at=ctx.clock.now() + timedelta(minutes=CHALLENGE_MINUTES),
    )
    session.add(row)
    await session.flush()
    return row.id


async def _take_challenge(
    session: AsyncSession, ctx: IdentityContext, challenge_id: str, purpose: str
) -> PasskeyChallenge:
    try:
        cid = uuid.UUID(str(challenge_id))
    except ValueError as exc:
        raise PasskeyFailed() from exc
    row = (
        await session.execute(
            update(PasskeyChallenge)
            .where(
                PasskeyChallenge.id == cid,
                PasskeyChallenge.purpose == purpose,
                PasskeyChallenge.used_at.is_(None),
                PasskeyChallenge.expires_at > ctx.clock.now(),
            )
            .values(used_at=ctx.clock.now())
            .returning(PasskeyChallenge)
        )
    ).scalar_one_or_none()
    if row is None:
        raise PasskeyFailed()
    return row


async def registration_options(
    session: AsyncSession, ctx: IdentityContext, user: User
) -> dict[str, Any]:
    cfg = ctx.settings.identity
    existing = (
        await session.execute(
            select(PasskeyCredential.id).where(PasskeyCredential.user_id == user.id)
        )
    ).scalars()
    options = generate_registration_options(
        rp_id=cfg.webauthn_rp_id,
        rp_name=cfg.webauthn_rp_name,
        user_id=user.id.bytes,
        user_name=user.phone,
        user_display_name=user.real_name or user.phone,
        exclude_credentials=[PublicKeyCredentialDescriptor(id=cred_id) for cred_id in existing],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    challenge_id = await _new_challenge(
        session, ctx, purpose="register", challenge=options.challenge, user_id=user.id
    )
    return {"challenge_id": str(challenge_id), "publicKey": json.loads(options_to_json(options))}


async def register(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    *,
    challenge_id: str,
    credential: Any,
    name: str,
    ip: str | None = None,
) -> PasskeyCredential:
    cfg = ctx.settings.identity
    challenge = await _take_challenge(session, ctx, challenge_id, "register")
    if challenge.user_id != user.id:
        raise PasskeyFailed()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge.challenge,
            expected_rp_id=cfg.webauthn_rp_id,
            expected_origin=cfg.webauthn_origin,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise PasskeyFailed() from exc
    cred = PasskeyCredential(
        id=verified.credential_id,
        user_id=user.id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=(name or "Passkey")[:100],
    )
    session.add(cred)
    await session.flush()
    await security.record(session, ctx, user, "passkey_added", ip=ip, details={"name": cred.name})
    return cred


async def authentication_options(session: AsyncSession, ctx: IdentityContext) -> dict[str, Any]:
    """Options for a username-less sign-in with a discoverable passkey."""
    options = generate_authentication_options(
        rp_id=ctx.settings.identity.webauthn_rp_id,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    challenge_id = await _new_challenge(
        session, ctx, purpose="login", challenge=options.challenge, user_id=None
    )
    return {"challenge_id": str(challenge_id), "publicKey": json.loads(options_to_json(options))}


async def _verified(
    session: AsyncSession,
    ctx: IdentityContext,
    challenge: PasskeyChallenge,
    credential: Any,
    *,
    owner: uuid.UUID | None = None,
    user_verification: bool = False,
) -> PasskeyCredential:
    """The stored passkey that signed ``challenge`` (of ``owner``, when given); its signature
    counter moves on. Any doubt is ``PasskeyFailed``."""
    cfg = ctx.settings.identity
    data = json.loads(credential) if isinstance(credential, str) else credential
    try:
        raw_id = base64url_to_bytes(
            data["rawId"] if isinstance(data.get("rawId"), str) else data["id"]
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PasskeyFailed() from exc
    stored = await session.get(PasskeyCredential, raw_id, with_for_update=True)
    if stored is None or (owner is not None and stored.user_id != owner):
        raise PasskeyFailed()
    try:
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge.challenge,
            expected_rp_id=cfg.webauthn_rp_id,
            expected_origin=cfg.webauthn_origin,
            credential_public_key=stored.public_key,
            credential_current_sign_count=stored.sign_count,
            require_user_verification=user_verification,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        raise PasskeyFailed() from exc
    stored.sign_count = verified.new_sign_count
    stored.last_used_at = ctx.clock.now()
    return stored


async def authenticate(
    session: AsyncSession, ctx: IdentityContext, *, challenge_id: str, credential: Any
) -> User:
    challenge = await _take_challenge(session, ctx, challenge_id, "login")
    stored = await _verified(session, ctx, challenge, credential)
    user = await session.get(User, stored.user_id)
    if user is None:
        raise PasskeyFailed()
    return user


def _bound_challenge(bound: str) -> bytes:
    """A step-up challenge: 16 random bytes and the SHA-256 of what it confirms (amount and
    payee). The authenticator signs the challenge, so the signature covers the operation: PSD2's
    dynamic linking."""
    return secrets.token_bytes(16) + hashlib.sha256(bound.encode()).digest()


async def step_up_options(
    session: AsyncSession, ctx: IdentityContext, user: User, *, bound: str
) -> dict[str, Any]:
    """Options to confirm one operation (``bound`` names its amount and payee) with one of the
    user's passkeys, user verification required."""
    creds = list(
        (
            await session.execute(
                select(PasskeyCredential.id).where(PasskeyCredential.user_id == user.id)
            )
        ).scalars()
    )
    if not creds:
        raise PasskeyFailed()
    options = generate_authentication_options(
        rp_id=ctx.settings.identity.webauthn_rp_id,
        challenge=_bound_challenge(bound),
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in creds],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    challenge_id = await _new_challenge(
        session, ctx, purpose="step_up", challenge=options.challenge, user_id=user.id
    )
    return {"challenge_id": str(challenge_id), "publicKey": json.loads(options_to_json(options))}


async def verify_step_up(
    session: AsyncSession,
    ctx: IdentityContext,
    user: User,
    *,
    challenge_id: str,
    credential: Any,
    bound: str,
) -> None:
    """Check a passkey's signature over a step-up challenge made for exactly this operation
    (another amount or payee fails), by one of this user's passkeys."""
    challenge = await _take_challenge(session, ctx, challenge_id, "step_up")
    if challenge.user_id != user.id or not secrets.compare_digest(
        challenge.challenge[16:], hashlib.sha256(bound.encode()).digest()
    ):
        raise PasskeyFailed()
    await _verified(session, ctx, challenge, credential, owner=user.id, user_verification=True)


async def list_passkeys(session: AsyncSession, user: User) -> list[PasskeyCredential]:
    rows = await session.execute(
        select(PasskeyCredential)
        .where(PasskeyCredential.user_id == user.id)
        .order_by(PasskeyCredential.created_at)
    )
    return list(rows.scalars())


async def remove(
    session: AsyncSession, ctx: IdentityContext, user: User, credential_id: str, *, ip: str | None
) -> bool:
    try:
        raw = base64url_to_bytes(credential_id)
    except ValueError:
        return False
    result = await session.execute(
        delete(PasskeyCredential)
        .where(PasskeyCredential.id == raw, PasskeyCredential.user_id == user.id)
        .returning(PasskeyCredential.name)
    )
    name = result.scalar()
    if name is None:
        return False
    await security.record(session, ctx, user, "passkey_removed", ip=ip, details={"name": name})
    return True


def credential_id_text(cred: PasskeyCredential) -> str:
    return bytes_to_base64url(cred.id)
