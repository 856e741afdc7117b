"""USDT on chains settings: ``QIANBAO_CHAIN__*``. Part of :mod:`qianbao.settings`."""

from __future__ import annotations

from pydantic import BaseModel


class ChainSettings(BaseModel):
    """USDT deposits and withdrawals on chains (TRC-20, ERC-20)."""
