"""Test fixtures: a real PostgreSQL, migrated with Alembic, never the `make run` data.

- By default a throwaway embedded cluster is created in a temp folder for the session (fsync off:
  it is thrown away anyway) and removed at the end.
- With ``QIANBAO_DATABASE__URL`` set, the suite creates its own databases on that server
  (``qb_test_<random>``; the URL's user needs CREATEDB) and drops them at the end.

A migrated template database is built once; tests get either a SAVEPOINT-isolated session on the
shared test database (``session``) or a fresh database cloned from the template
(``fresh_db_url``) when they need real commits and concurrent connections.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.identity import passwords as _passwords
from qianbao.kernel.clock import SESSION_KEY, TestClock
from qianbao.kernel.db import Database, asyncpg_dsn
from qianbao.main import create_app
from qianbao.ops.embedded_pg import EmbeddedPostgres
from qianbao.ops.migrate import upgrade
from qianbao.settings import Settings

T = TypeVar("T")
RUN_ID = secrets.token_hex(3)
TEST_VAR_DIR = Path(tempfile.mkdtemp(prefix="qianbao-test-var-"))
SUITE_LOG = TEST_VAR_DIR / "suite.log"


# Passwords are hashed with argon2id everywhere; in tests with its cheapest parameters (1 MiB,
# one pass: ~1 ms instead of ~50-90 ms a hash; sign-ups and sign-ins are in hundreds of tests).
# The production parameters are checked by tests/unit/test_passwords_cost.py, and the tests
# whose point is the cost of hashing (a burst of sign-ins must not stall anyone) run with them:
# mark them ``owasp_hashing``.
OWASP_HASHER = _passwords.HASHER
_OWASP_DUMMY = _passwords._DUMMY_HASH
CHEAP_HASHER = PasswordHasher(
    time_cost=1, memory_cost=1024, parallelism=1, hash_len=32, salt_len=16
)
_CHEAP_DUMMY = CHEAP_HASHER.hash("not-a-real-password-just-for-timing")
_passwords.HASHER, _passwords._DUMMY_HASH = CHEAP_HASHER, _CHEAP_DUMMY


@pytest.fixture(autouse=True)
def _password_hashing_cost(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("owasp_hashing") is None:
        yield
        return
    _passwords.HASHER, _passwords._DUMMY_HASH = OWASP_HASHER, _OWASP_DUMMY
    try:
        yield
    finally:
        _passwords.HASHER, _passwords._DUMMY_HASH = CHEAP_HASHER, _CHEAP_DUMMY


def pytest_configure(config: pytest.Config) -> None:
    """Every log line of the suite also goes to one file, scanned for secrets at the end."""
    import logging

    from qianbao.kernel.logging import configure_logging

    configure_logging(level="DEBUG", json_logs=True)
    root = logging.getLogger()
    handler = logging.FileHandler(SUITE_LOG, encoding="utf-8")
    handler.setFormatter(root.handlers[0].formatter)
    # Only the file: pytest shows a failing test's own log lines through its capture anyway.
    root.handlers[:] = [handler]
    for noisy in ("asyncio", "aiosmtpd", "mail.log", "hpack", "httpcore", "httpx"):
        logging.getLogger(noisy).setLevel(logging.INFO)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any password, code, PIN or token a test used appears in the logs."""
    from tests.support.secrets import SECRETS, scan

    lines, leaked = scan(SUITE_LOG)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = (
        f"log scan: {lines} log lines checked against {len(SECRETS)} secrets used by the tests"
    )
    if leaked:
        message += f"; LEAKED: {len(leaked)} secret(s) found in the logs (first chars: {[s[:3] for s in leaked]})"
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if reporter is not None:
        reporter.write_line(message, red=bool(leaked), green=not leaked)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def base_settings(**overrides: object) -> Settings:
    """Settings for tests: environment=test, state under a temp folder."""
    values: dict[str, object] = {
        "environment": "test",
        "var_dir": TEST_VAR_DIR,
        "security": {"secret_key": "test-secret-key-not-for-production-0123456789"},
        # Admission control stays in the path of every test request, with room for the races
        # the tests stage (hundreds of requests at once); its limit is proved on its own
        # (unit/test_admission.py, integration/test_overload.py).
        "http": {"max_in_flight": 10_000},
        # Likewise the pool: the races stage up to ~30 requests at once, which on a slow CI
        # machine may queue longer than the 3 s a request waits by default; the pool's limit and
        # its 503 are proved on their own (integration/test_overload.py, default sizes).
        "database": {"max_overflow": 40, "pool_timeout_s": 30.0},
        # Shops in the tests live on http://localhost, as the demo shop of `make run` does.
        "merchants": {"return_urls_may_be_http": True},
    }
    if os.environ.get("TEST_AT"):
        # Under libfaketime (TEST_AT) PostgreSQL's timers misfire: an alarm that rings while a
        # backend waits (a lock, the I/O workers) fires every pending timeout, so a lock wait
        # past deadlock_timeout (1 s) failed at once as lock_timeout, and a worker's INSERT
        # failed as statement_timeout after a few seconds. These runs test the calendar, not
        # the timeouts: the statement and lock timeouts are off (test_overload sets its own).
        values["database"] = {**values["database"], "statement_timeout_ms": 0, "lock_timeout_ms": 0}  # type: ignore[dict-item]
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def pytest_report_header(config: pytest.Config) -> list[str]:
    from tests.web.browser import chromium_path

    settings = base_settings()
    where = "external (QIANBAO_DATABASE__URL)" if settings.database.url else "embedded, throwaway"
    browser = chromium_path()
    shifted = os.environ.get("TEST_AT")
    return [
        f"qianbao: the clock says {shifted} (TEST_AT, libfaketime)"
        if shifted
        else "qianbao: the machine's clock (TEST_AT unset)",
        f"qianbao: PostgreSQL {where}",
        f"qianbao: browser tests {'use ' + browser if browser else 'SKIPPED: chromium not found'}"
        + (" (required)" if settings.require_browser else ""),
    ]


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """A superuser-ish URL on the server the tests use (``postgres`` database)."""
    settings = base_settings()
    if settings.database.url is not None:
        yield _with_database(settings.database.url.get_secret_value(), "postgres")
        return
    folder = Path(tempfile.mkdtemp(prefix="qianbao-test-"))
    pg = EmbeddedPostgres(
        folder / "pg",
        extra_conf={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"},
    )
    pg.start()
    try:
        yield pg.url("postgres")
    finally:
        pg.destroy()
        folder.rmdir() if folder.exists() and not any(folder.iterdir()) else None


async def _exec(admin: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def in_thread(fn: Callable[..., T], *args: object) -> T:
    """Run blocking code that may call asyncio.run() in its own thread: pytest-asyncio may
    have a loop running in the main thread while sync fixtures are set up."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def _run(coro: Coroutine[object, object, T]) -> T:
    return in_thread(asyncio.run, coro)


@pytest.fixture(scope="session")
def template_db(admin_url: str) -> Iterator[str]:
    """A database migrated to head, used as the template for every test database."""
    name = f"qb_test_{RUN_ID}_tpl"
    _run(_exec(admin_url, f'CREATE DATABASE "{name}"'))
    in_thread(upgrade, _with_database(admin_url, name))
    try:
        yield name
    finally:
        _run(_exec(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class DatabaseFactory:
    """Clones the migrated template into fresh databases, dropped at the end of the session.

    Cloning takes ~0.35 s, and hundreds of tests want a database of their own: the next one is
    cloned in a background thread while the current test runs, so a test usually finds it
    ready."""

    def __init__(self, admin: str, template: str) -> None:
        self.admin = admin
        self.template = template
        self.created: list[str] = []
        self._lock = threading.Lock()
        self._cloner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-clone")
        self._next: Future[str] | None = None

    def _clone(self) -> str:
        with self._lock:
            name = f"qb_test_{RUN_ID}_{len(self.created)}_{secrets.token_hex(2)}"
            self.created.append(name)
        asyncio.run(_exec(self.admin, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    async def create(self) -> str:
        with self._lock:
            ready = self._next or self._cloner.submit(self._clone)
            self._next = self._cloner.submit(self._clone)  # for the next test
        return _with_database(self.admin, await asyncio.wrap_future(ready))

    def close(self) -> None:
        self._cloner.shutdown(wait=True, cancel_futures=True)

    def drop_all(self) -> None:
        for name in self.created:
            _run(_exec(self.admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def db_factory(admin_url: str, template_db: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(admin_url, template_db)
    try:
        yield factory
    finally:
        factory.close()
        # The embedded cluster is removed whole at the end (admin_url): dropping its hundreds
        # of databases one by one first took ~20 s. On a server of one's own, drop them.
        if base_settings().database.url is not None:
            factory.drop_all()


@pytest.fixture(scope="session")
async def db_url(db_factory: DatabaseFactory) -> str:
    """The shared test database (tests isolate themselves with a SAVEPOINT)."""
    return await db_factory.create()


@pytest.fixture(scope="session")
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url, pool_size=5, max_overflow=20)
    try:
        yield db
    finally:
        await db.dispose()


class SavepointDatabase(Database):
    """A Database whose sessions all join one outer transaction that the test rolls back.

    Services and routes commit as usual; their commits release SAVEPOINTs only."""

    def __init__(self, inner: Database, connection: object, clock: TestClock) -> None:
        self.url = inner.url
        self.engine = inner.engine
        self.clock = clock
        self._connection = connection
        self.sessionmaker = None  # type: ignore[assignment]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        session = AsyncSession(
            bind=self._connection,  # type: ignore[arg-type]
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            info={SESSION_KEY: self.clock},
        )
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()


@pytest.fixture
def clock() -> TestClock:
    """The time of the service under test: the machine's until the test says otherwise
    (``clock.freeze(at)``, ``clock.travel(at)``, ``clock.advance(minutes=5)``). The ``app``,
    ``fresh_app``, ``session`` and ``fresh_db`` fixtures of a test all run on it."""
    return TestClock()


@pytest.fixture
async def tx_db(database: Database, clock: TestClock) -> AsyncIterator[SavepointDatabase]:
    """A Database for one test: everything it writes is rolled back afterwards."""
    async with database.engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield SavepointDatabase(database, conn, clock)
        finally:
            await outer.rollback()


@pytest.fixture
async def session(tx_db: SavepointDatabase) -> AsyncIterator[AsyncSession]:
    async with tx_db.session() as s:
        yield s


@pytest.fixture
async def fresh_db_url(db_factory: DatabaseFactory) -> str:
    """A brand-new migrated database: for tests that commit from many connections."""
    return await db_factory.create()


@pytest.fixture
async def fresh_db(fresh_db_url: str, clock: TestClock) -> AsyncIterator[Database]:
    db = Database(fresh_db_url, pool_size=10, max_overflow=40, clock=clock)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        email={"backend": "file", "outbox_dir": tmp_path / "mail"},
        payments={
            "payout_outbox_path": tmp_path / "payouts.jsonl",
            "sandbox_secret": "test-sandbox-signing-key",
            "payout_settle_after_s": 0,
        },
    )


@pytest.fixture
async def app(
    settings: Settings, tx_db: SavepointDatabase, clock: TestClock
) -> AsyncIterator[FastAPI]:
    """The real application, its database swapped for the test's rolled-back transaction."""
    application = create_app(
        settings, database_url_override=tx_db.url, run_worker=False, clock=clock
    )
    async with application.router.lifespan_context(application):
        application.state.db = tx_db
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def pg_pool(fresh_db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool on a fresh migrated database (for the ledger and concurrency tests)."""
    pool = await asyncpg.create_pool(asyncpg_dsn(fresh_db_url), min_size=2, max_size=60)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def pg_conn(pg_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with pg_pool.acquire() as conn:
        yield conn


@pytest.fixture
async def fresh_app(
    settings: Settings, fresh_db_url: str, clock: TestClock
) -> AsyncIterator[FastAPI]:
    """The real application on a fresh database that really commits (no SAVEPOINT trick):
    for flows whose refusals must still count (codes, lockouts)."""
    application = create_app(
        settings, database_url_override=fresh_db_url, run_worker=False, clock=clock
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def fresh_client(fresh_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=fresh_app, raise_app_exceptions=False, client=("203.0.113.7", 50000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
