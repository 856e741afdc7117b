"""Linking a WeChat or Telegram account to a wallet with a one-time code shown in the wallet.

The code is 6 digits, kept only as a keyed hash (HMAC with the server secret: a plain hash of
a million possible codes is no secret), lives ``link_code_ttl_s`` on the clock, works once, and
a new one replaces the customer's previous code. A chat account may send at most
``link_max_attempts`` wrong codes per ``link_attempts_window_s``; beyond that its codes are not
even looked at. Linking a chat account already linked to another wallet moves it (the code
proves the new wallet); a wallet has one account per channel."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from qianbao.kernel.clock import clock_of
from qianbao.support.im import repository as repo
from qianbao.support.im.config import ImConfig
from qianbao.support.im.errors import LinkNotFound
from qianbao.support.im.models import ImLink, ImLinkCode

CODE_DIGITS = 6


def code_hash(cfg: ImConfig, code: str) -> bytes:
    key = hashlib.sha256(cfg.visitor_key + b"|im-link-code").digest()
    return hmac.new(key, code.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class NewCode:
    code: str
    expires_at: datetime


async def new_code(s: Any, cfg: ImConfig, user_id: uuid.UUID) -> NewCode:
    now = clock_of(s).now()
    await repo.drop_codes(s, user_id)
    for _ in range(5):  # another customer's live code with the same digits: draw again
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        hashed = code_hash(cfg, code)
        if not await repo.active_codes(s, hashed, now):
            break
    expires = now + timedelta(seconds=cfg.link_code_ttl_s)
    s.add(ImLinkCode(user_id=user_id, code_hash=hashed, created_at=now, expires_at=expires))
    await s.flush()
    return NewCode(code, expires)


@dataclass(frozen=True)
class Redeemed:
    outcome: str  # linked, wrong, limited
    user_id: uuid.UUID | None = None


async def redeem(s: Any, cfg: ImConfig, channel: str, peer_id: str, code: str) -> Redeemed:
    now = clock_of(s).now()
    since = now - timedelta(seconds=cfg.link_attempts_window_s)
    if await repo.failures_since(s, channel, peer_id, since) >= cfg.link_max_attempts:
        return Redeemed("limited")
    found = await repo.active_codes(s, code_hash(cfg, code), now)
    if len(found) != 1:  # none, or (vanishingly rare) two customers' equal codes: refuse both
        await repo.add_failure(s, channel, peer_id, now)
        return Redeemed("wrong")
    row = found[0]
    row.used_at = now
    await repo.replace_link(s, user_id=row.user_id, channel=channel, peer_id=peer_id, at=now)
    return Redeemed("linked", row.user_id)


async def links(s: Any, user_id: uuid.UUID) -> list[ImLink]:
    return list(await repo.links_of_user(s, user_id))


async def unlink(s: Any, user_id: uuid.UUID, link_id: uuid.UUID) -> None:
    """The customer unlinks one of their chat accounts (anyone else's: not found)."""
    if not await repo.delete_link(s, user_id, link_id):
        raise LinkNotFound()


def masked_peer(peer_id: str) -> str:
    """How the wallet shows a chat account: enough to recognise, not to copy."""
    if len(peer_id) <= 6:
        return peer_id[:1] + "…" + peer_id[-1:]
    return peer_id[:3] + "…" + peer_id[-3:]
