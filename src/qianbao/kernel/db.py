"""Database access: one async engine per process, one session (= one transaction) per request or
job. Services ``flush()``; the edge (route or job) commits. Nothing here knows a domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

# Constraint names that Alembic autogenerate and humans can rely on.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every domain's models (one metadata, one migration stream)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


Session = AsyncSession


def async_url(url: str) -> URL:
    """Turn any postgres URL into one for SQLAlchemy's asyncpg dialect."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN asyncpg accepts (no driver suffix)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Database:
    """The engine and session factory for one process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        statement_timeout_ms: int = 30_000,
        echo: bool = False,
    ) -> None:
        self.url = url
        connect_args: dict[str, Any] = {
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "application_name": "qianbao",
            }
        }
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            echo=echo,
            connect_args=connect_args,
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits only if the caller says so; rolls back otherwise."""
        async with self.sessionmaker() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends without error."""
        async with self.session() as session:
            yield session
            await session.commit()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
