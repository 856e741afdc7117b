"""The worker tasks of USDT on chains: watching deposits and withdrawals."""

from __future__ import annotations

from typing import Any


def register(registry: Any, settings: Any | None = None) -> None:
    """Register this part's worker tasks (called by ``qianbao.tasks.register_tasks``)."""
