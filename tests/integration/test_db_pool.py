"""The connection pool notices a connection the server dropped while it sat idle (the lazy
ping that replaced SQLAlchemy's ping on every checkout)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from qianbao.kernel.db import Database


async def _backend_pid(db: Database) -> int:
    async with db.session() as s:
        return int((await s.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_an_idle_connection_killed_by_the_server_is_replaced(fresh_db_url: str) -> None:
    db = Database(fresh_db_url, pool_size=1, max_overflow=0, ping_after_idle_s=0.05)
    killer = Database(fresh_db_url, pool_size=1, max_overflow=0)
    try:
        first = await _backend_pid(db)
        async with killer.session() as s:
            assert (
                await s.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
            ).scalar_one()
        await asyncio.sleep(0.2)  # idle longer than the ping threshold
        second = await _backend_pid(db)  # no error: the dead connection was swapped
        assert second != first
    finally:
        await db.dispose()
        await killer.dispose()


async def test_a_busy_pool_does_not_ping(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    pings = 0
    original = AsyncAdapt_asyncpg_connection.ping

    def counting_ping(self: AsyncAdapt_asyncpg_connection) -> None:
        nonlocal pings
        pings += 1
        original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting_ping)
    db = Database(fresh_db_url, pool_size=1, max_overflow=0, ping_after_idle_s=60)
    try:
        for _ in range(5):
            await _backend_pid(db)
        assert pings == 0
    finally:
        await db.dispose()
