"""What the operator's bank page lists besides the queue: the files imported lately and the
items resolved lately (who did what, why, and who approved)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from qianbao.banking.models import StatementFile, StatementLine


async def recent_files(session: Any, *, limit: int = 20) -> list[StatementFile]:
    return list(
        (
            await session.execute(
                select(StatementFile).order_by(StatementFile.imported_at.desc()).limit(limit)
            )
        ).scalars()
    )


async def recent_resolved(session: Any, *, limit: int = 20) -> list[StatementLine]:
    return list(
        (
            await session.execute(
                select(StatementLine)
                .where(StatementLine.status == "resolved")
                .order_by(StatementLine.resolved_at.desc())
                .limit(limit)
            )
        ).scalars()
    )


async def lines_of_user(session: Any, user_id: Any, *, limit: int = 20) -> list[StatementLine]:
    """The bank transfers a reference named this user in (credited, or waiting in suspense)."""
    return list(
        (
            await session.execute(
                select(StatementLine)
                .where(StatementLine.user_id == user_id)
                .order_by(StatementLine.created_at.desc())
                .limit(limit)
            )
        ).scalars()
    )
