"""Readiness: the database answers and its schema is at the code's migration head."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from qianbao.kernel.db import Database


async def readiness(db: Database, expected_head: str | None) -> dict[str, Any]:
    try:
        async with db.connection() as conn:
            await conn.execute(text("SELECT 1"))
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except (OSError, DBAPIError, SQLAlchemyError) as exc:
        return {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}
    schema_ok = expected_head is None or current == expected_head
    return {
        "status": "ok" if schema_ok else "unavailable",
        "database": "ok",
        "schema": {"current": current, "expected": expected_head, "ok": schema_ok},
    }
