"""USDT on chains: deposit addresses, deposits seen on chain, withdrawals to an address."""

from __future__ import annotations
