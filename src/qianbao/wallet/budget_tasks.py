"""The worker tasks of budgets: alerts at 80 % and 100 % of a monthly budget."""

from __future__ import annotations

from typing import Any


def register(registry: Any, settings: Any | None = None) -> None:
    """Register this part's worker tasks (called by ``qianbao.tasks.register_tasks``)."""
