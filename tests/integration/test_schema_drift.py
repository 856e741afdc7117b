"""The migrations and the models describe the same schema: after ``qianbao migrate`` on a fresh
database, Alembic's comparison with the models finds no difference (a column, index or
constraint added to one and forgotten in the other fails here)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qianbao.kernel.db import Base, Database
from qianbao.models import import_all_models


async def test_migrations_match_the_models(fresh_db_url: str) -> None:
    import_all_models()
    db = Database(fresh_db_url)
    try:
        async with db.engine.connect() as conn:

            def compare(sync_conn: Any) -> list[Any]:
                ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return list(compare_metadata(ctx, Base.metadata))

            diff = await conn.run_sync(compare)
    finally:
        await db.dispose()
    assert diff == []
