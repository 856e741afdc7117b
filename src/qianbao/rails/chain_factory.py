"""Choosing the chain backend (``settings.chain.backend``). The development chain is refused in
production: set ``QIANBAO_CHAIN__BACKEND=off`` there until a real adapter is configured."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from qianbao.rails.chain import ChainProvider
from qianbao.rails.chain_dev import DevChain

DEV_IN_PRODUCTION = (
    "QIANBAO_CHAIN__BACKEND=dev is the development chain (test USDT that anyone can send "
    "themselves) and is refused in production. Set QIANBAO_CHAIN__BACKEND=off."
)


def backend(settings: Any) -> str:
    """dev or off: an unset backend is dev outside production and off in production."""
    chosen = settings.chain.backend
    if chosen is None:
        return "off" if settings.environment == "production" else "dev"
    if chosen == "dev" and settings.environment == "production":
        raise RuntimeError(DEV_IN_PRODUCTION)
    return str(chosen)


def provider(settings: Any) -> ChainProvider | None:
    """The configured chain backend; ``None`` when chains are off."""
    if backend(settings) == "off":
        return None
    return dev_chain(settings)


def dev_chain(settings: Any) -> DevChain:
    if settings.environment == "production":
        raise RuntimeError(DEV_IN_PRODUCTION)
    key = hmac.new(settings.secret_key_bytes(), b"qianbao dev chain", hashlib.sha256).digest()
    return DevChain(key, settings.chain.dev_block_seconds, list(settings.chain.networks))


def dev_active(settings: Any) -> bool:
    """The development chain is the backend (its test-USDT form and command are on)."""
    return settings.environment != "production" and backend(settings) == "dev"
