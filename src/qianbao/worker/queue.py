"""Deferring jobs: in the caller's transaction, so a job exists only if its cause committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.worker.models import JOB_NOTIFY_CHANNEL, Job


async def enqueue(
    session: AsyncSession,
    task: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    dedup_key: str | None = None,
) -> None:
    """Add a job. With ``dedup_key`` a second job with the same key is silently dropped."""
    values: dict[str, Any] = {"task": task, "payload": payload, "dedup_key": dedup_key}
    if run_at is not None:
        values["run_at"] = run_at
    stmt = insert(Job).values(**values)
    if dedup_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"])
    await session.execute(stmt)
    await session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": JOB_NOTIFY_CHANNEL})
