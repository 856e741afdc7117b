"""Database access: one async engine per process, one session (= one transaction) per request or
job. Services ``flush()``; the edge (route or job) commits. Nothing here knows a domain."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Session as OrmSession

from qianbao.kernel.clock import SESSION_KEY, Clock, clock_of, system_clock

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

# Columns a new row gets from the session's clock when nobody set them (the database's own
# ``now()`` stays as the default of raw inserts only): a test or seeder that says what time it
# is gets rows stamped at that time.
STAMPED_COLUMNS = ("created_at", "updated_at")


@event.listens_for(OrmSession, "before_flush")
def _stamp_new_rows(session: OrmSession, flush_context: Any, instances: Any) -> None:
    now = None
    for obj in session.new:
        for column in STAMPED_COLUMNS:
            if hasattr(type(obj), column) and getattr(obj, column, None) is None:
                now = now or clock_of(session).now()
                setattr(obj, column, now)


def async_url(url: str) -> URL:
    """Turn any postgres URL into one for SQLAlchemy's asyncpg dialect."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN asyncpg accepts (no driver suffix)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 5.0


def _ping_idle_connections(engine: AsyncEngine, idle_s: float) -> None:
    """Pessimistic disconnect handling without a round trip per checkout.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, which costs three round trips with
    asyncpg (BEGIN, ``;``, ROLLBACK): on the transfer path that was six of about thirty. Here a
    connection is pinged only when it sat idle in the pool for ``idle_s`` or more, which is when
    a restarted server or a dropped connection goes unnoticed; a connection that just came back
    was fine a moment ago, and if it breaks anyway the error invalidates the whole pool."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["qianbao_idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("qianbao_idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out another (or a new) one.
            raise DisconnectionError() from exc


_OVERLOAD_SQLSTATES = {
    "57014",  # query_canceled: statement_timeout
    "55P03",  # lock_not_available: lock_timeout
    "53300",  # too_many_connections
    "57P01",  # admin_shutdown: the server is stopping (or was killed and restarts)
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: the server is starting
}


# Lost or refused connections the driver reports without an SQLSTATE.
_LOST_CONNECTION: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    ConnectionRefusedError,
    ConnectionResetError,
)

_BAD_TEXT_SQLSTATES = {
    "22021",  # character_not_in_repertoire: a NUL in text
    "22P05",  # untranslatable_character: \u0000 in JSON
}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE PostgreSQL answered with, when ``exc`` carries one."""
    original = getattr(exc, "orig", None) or exc
    state = getattr(original, "sqlstate", None) or getattr(
        getattr(original, "__cause__", None), "sqlstate", None
    )
    return state if isinstance(state, str) else None


def is_bad_text(exc: BaseException) -> bool:
    """True when PostgreSQL refused a string the client sent (a NUL character): the request
    is invalid input (422), not a server error. Free text is cleaned before it gets here
    (``kernel.text.plain_text``); this is the backstop for every other field."""
    return sqlstate(exc) in _BAD_TEXT_SQLSTATES


def is_overload(exc: BaseException) -> bool:
    """True when ``exc`` says the database is too busy right now (no free pooled connection in
    time, a lock or statement timeout, no server connection slot) rather than that something
    is wrong: the HTTP edge answers 503 with Retry-After, and the client tries again."""
    if isinstance(exc, SATimeoutError):
        return True
    # The database went away mid-request or cannot be reached yet (a restart, a failover): the
    # transaction did not commit, so "try again shortly" is the truth, not a 500 (found by
    # `make chaos`).
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, _LOST_CONNECTION):
            return True
        state = sqlstate(seen)
        if state is not None and (state in _OVERLOAD_SQLSTATES or state.startswith("08")):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return False


async def release_connection(session: AsyncSession) -> None:
    """Give the session's pooled connection back before slow work (a password hash): ends its
    transaction, which must hold no writes yet; the next statement starts a new one (loaded
    objects stay usable: sessions do not expire them on commit)."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release_connection: the session has unwritten changes")
    await session.commit()


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under a session, inside the session's transaction (begun now if
    it has not started yet), for hot paths that cannot afford the ORM. Statements sent on it
    commit or roll back with the session."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter begins its transaction lazily, at the first statement;
        # make it begin now so that our work happens in it instead of committing on its own.
        await connection.exec_driver_sql("SELECT 1")
        if not driver.is_in_transaction():  # pragma: no cover - guard against adapter changes
            raise RuntimeError("the session's transaction has not started")
    return driver


# asyncpg without its statement cache: named prepared statements do not survive PgBouncer's
# transaction mode (before PgBouncer 1.21's max_prepared_statements), unnamed ones do.
PGBOUNCER_CONNECT_ARGS: dict[str, Any] = {"statement_cache_size": 0}


class Database:
    """The engine and session factory for one process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        statement_timeout_ms: int = 30_000,
        lock_timeout_ms: int = 10_000,
        pool_timeout_s: float = 3.0,
        side_pool_size: int = 4,
        echo: bool = False,
        ping_after_idle_s: float = PING_AFTER_IDLE_S,
        clock: Clock = system_clock,
        pgbouncer: bool = False,
        direct_url: str | None = None,
    ) -> None:
        self.url = url
        # LISTEN needs a session of its own: straight to PostgreSQL, not through a pooler.
        self.direct_url = direct_url or url
        self.clock = clock
        self.pgbouncer = pgbouncer
        connect_args: dict[str, Any] = {
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "lock_timeout": str(lock_timeout_ms),
                "application_name": "qianbao",
            }
        }
        if pgbouncer:
            connect_args = {
                # PgBouncer (transaction mode) refuses unknown startup parameters: the timeouts
                # are set on the role (docs/operator.md).
                "server_settings": {"application_name": "qianbao"},
                **PGBOUNCER_CONNECT_ARGS,
                # SQLAlchemy prepares each statement under a name of its own: in transaction
                # mode the next transaction may run on another server connection.
                "prepared_statement_cache_size": 0,
                "prepared_statement_name_func": lambda: f"__qb_{uuid.uuid4().hex}__",
            }

        def pool(size: int, overflow: int) -> tuple[AsyncEngine, Any]:
            # No free connection within ``pool_timeout_s``: sqlalchemy.exc.TimeoutError, which
            # the HTTP edge answers with 503 and Retry-After (web/errors.py), not a long queue.
            engine = create_async_engine(
                async_url(url),
                pool_size=size,
                max_overflow=overflow,
                pool_timeout=pool_timeout_s,
                echo=echo,
                connect_args=connect_args,
            )
            _ping_idle_connections(engine, ping_after_idle_s)
            # Every session carries the application's clock (``clock_of(session)``).
            return engine, async_sessionmaker(
                engine, expire_on_commit=False, info={SESSION_KEY: clock}
            )

        self.engine, self.sessionmaker = pool(pool_size, max_overflow)
        # A second, small pool for short independent commits made while a request's own
        # transaction is open (a wrong PIN, code or password counted although the request
        # fails). Taken from the main pool, N concurrent requests each waiting for their second
        # connection would hold all N and wait for ever (pool starvation).
        self.side_engine, self.side_sessionmaker = pool(side_pool_size, side_pool_size)

    def asyncpg_kwargs(self) -> dict[str, Any]:
        """Arguments for asyncpg connections and pools made beside the engine (the ledger's
        group commit) so that they work through the same pooler."""
        return dict(PGBOUNCER_CONNECT_ARGS) if self.pgbouncer else {}

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
    async def side_transaction(self) -> AsyncIterator[AsyncSession]:
        """An independent transaction on the side pool, committed when the block ends without
        error (or earlier by the caller). Keep it short, and take it before the request's own
        transaction holds locks the side transaction could wait for."""
        async with self.side_sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.side_engine.dispose()


async def lock_for_transaction(session: Any, key: str) -> None:
    """Wait for, then hold until the transaction ends, the advisory lock named ``key``
    (``"limits:transfer:<user>"``): what takes the same key is done one at a time."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
