"""create_app(): routers, middleware, error handlers — nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from qianbao import __version__
from qianbao.banking.api import router as bank_api
from qianbao.banking.api_payouts import router as bank_payouts_api
from qianbao.disputes.api import router as disputes_api
from qianbao.disputes.api_merchant import router as merchant_disputes_api
from qianbao.finance.api import router as finance_api
from qianbao.identity.api import auth as auth_api
from qianbao.identity.api_kyc import router as kyc_api
from qianbao.identity.api_me import me as me_api
from qianbao.identity.api_staff import staff as staff_api
from qianbao.identity.context import IdentityContext
from qianbao.kernel.clock import Clock, system_clock
from qianbao.kernel.db import Database, asyncpg_dsn
from qianbao.kernel.logging import get_logger
from qianbao.ledger import GroupCommitter
from qianbao.ledger.api import router as ledger_api
from qianbao.merchants.api import router as merchant_api
from qianbao.merchants.api_agents import router as agents_api
from qianbao.merchants.api_customer import router as pay_api
from qianbao.merchants.api_webhooks import router as merchant_webhooks_api
from qianbao.merchants.categories import category_name
from qianbao.ops.database import embedded_server
from qianbao.ops.migrate import MigrationFailed, heads
from qianbao.rails import factory as rails
from qianbao.risk.api import router as risk_api
from qianbao.settings import Settings, get_settings
from qianbao.support.channels.api import public as verify_api
from qianbao.support.channels.api import router as channels_api
from qianbao.support.chat.api import router as chat_api
from qianbao.support.chat.api_history import router as chat_history_api
from qianbao.support.chat.hub import ChatHub
from qianbao.support.console.api import router as console_api
from qianbao.support.console.api_desk import router as console_desk_api
from qianbao.support.console.api_topups import router as console_topups_api
from qianbao.support.helpcenter import ranking as help_ranking
from qianbao.support.helpcenter.api import router as help_api
from qianbao.support.tickets.api import router as tickets_api
from qianbao.tasks import register_tasks
from qianbao.wallet.api import router as wallet_api
from qianbao.wallet.api_cards import router as cards_api
from qianbao.wallet.api_chain import router as chain_api
from qianbao.wallet.api_exchange import router as exchange_api
from qianbao.wallet.api_held import router as held_api
from qianbao.wallet.api_history import router as history_api
from qianbao.wallet.api_insights import router as insights_api
from qianbao.wallet.api_ops import router as wallet_ops_api
from qianbao.wallet.api_payments import callbacks as payment_callbacks
from qianbao.wallet.api_payments import router as payments_api
from qianbao.wallet.api_statements import router as statements_api
from qianbao.wallet.api_topup_methods import callbacks as wallet_callbacks
from qianbao.wallet.api_topup_methods import router as topup_methods_api
from qianbao.web.admission import AdmissionMiddleware, Gate
from qianbao.web.errors import (
    UnhandledErrorMiddleware,
    install_error_handlers,
    respond_busy,
    respond_error,
    respond_rate_limited,
)
from qianbao.web.middleware import (
    RequestContextMiddleware,
    RequestGuardMiddleware,
    SecurityHeadersMiddleware,
)
from qianbao.web.openapi import install_problem_openapi
from qianbao.web.routes import (
    demo_shop,
    health,
)
from qianbao.web.routes.pages import include_pages
from qianbao.web.templating import templates
from qianbao.web.throttle import Buckets, ThrottleMiddleware
from qianbao.worker import Worker

log = get_logger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"

API_DESCRIPTION = """
The Qianbao JSON API. Amounts are decimal strings with a currency code (`{"amount": "12.34",
"currency": "CNY"}`), never floats. Every write that moves money takes an `Idempotency-Key`
header. Errors are RFC 9457 `application/problem+json` documents with a stable `code`.
"""


def pooler_args(settings: Settings, url: str) -> dict[str, Any]:
    """``Database`` arguments for a connection pooler in front of PostgreSQL (when the URL is
    the configured one, not a test's or a tool's own)."""
    direct = settings.database.direct_url
    configured = settings.database.url is not None and (
        url == settings.database.url.get_secret_value()
    )
    if not configured:
        return {}
    return {
        "pgbouncer": settings.database.pooler == "pgbouncer",
        "direct_url": direct.get_secret_value() if direct is not None else None,
    }


def database_url(settings: Settings) -> str:
    if settings.database.url is not None:
        return settings.database.url.get_secret_value()
    return embedded_server(settings).url(settings.database.embedded_db)


# Pages name a payment's merchant category (a msgid: the template translates it).
templates.env.globals["category_name"] = category_name


async def _warm_up(db: Database, *, settle: bool) -> None:
    """The last of start-up: the help search made ready, then (``settle``) the heap settled."""
    try:
        await help_ranking.warm_up(db)
    except Exception:
        log.info("help_warm_up_failed", exc_info=True)
    if settle:
        settle_heap()


def settle_heap() -> None:
    """Move what start-up made (modules, templates, the help search's dictionary: ~250,000
    objects) out of the garbage collector's way. Each full collection walked all of them, 60-130
    ms in which every request in flight waited: the tail of the latency (issue 17). What is
    made later is collected as before."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    database_url_override: str | None = None,
    run_worker: bool | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The application. ``clock`` is the one time source of everything it does (pages, API,
    its database sessions, its worker): tests pass a ``TestClock`` to say what time it is."""
    settings = settings or get_settings()
    clock = clock or system_clock
    url = database_url_override or database_url(settings)
    run_worker = settings.worker.in_process if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(
            url,
            pool_size=settings.database.pool_size,
            max_overflow=settings.database.max_overflow,
            statement_timeout_ms=settings.database.statement_timeout_ms,
            lock_timeout_ms=settings.database.lock_timeout_ms,
            pool_timeout_s=settings.database.pool_timeout_s,
            side_pool_size=settings.database.side_pool_size,
            echo=settings.database.echo,
            clock=clock,
            **pooler_args(settings, url),
        )
        app.state.db = db
        app.state.identity = IdentityContext(settings=settings, db=db, clock=clock)
        try:
            app.state.schema_head = next(iter(heads(url)), None)
        except MigrationFailed:
            app.state.schema_head = None
        # The ledger's group-commit front (the batched hot path), on its own small asyncpg pool.
        ledger_pool = await asyncpg.create_pool(
            asyncpg_dsn(url),
            min_size=1,
            max_size=settings.ledger.group_commit_inflight + 1,
            **db.asyncpg_kwargs(),
        )
        app.state.ledger_front = GroupCommitter(
            ledger_pool,
            max_batch=settings.ledger.group_commit_max_batch,
            inflight=settings.ledger.group_commit_inflight,
            clock=clock,
        )
        app.state.chat_hub = ChatHub(asyncpg_dsn(db.direct_url))  # live chat: LISTEN fan-out
        await app.state.chat_hub.start()
        # The help search's word splitter (its dictionary: 1-2 s) and index are made now, not
        # on the first customer's search (a search meanwhile waits for them).
        # Then the heap is settled (not in tests: one process makes many apps).
        warming = asyncio.create_task(
            _warm_up(db, settle=settings.environment != "test"), name="warm-up"
        )
        stop = asyncio.Event()
        worker_task = None
        if run_worker:
            register_tasks(
                {"ledger.expire_holds": settings.ledger.hold_sweep_interval_s}, settings=settings
            )
            worker = Worker(
                db,
                poll_interval=settings.worker.poll_interval_s,
                batch_size=settings.worker.batch_size,
                jobs_per_transaction=settings.worker.jobs_per_transaction,
                max_attempts=settings.worker.max_attempts,
                services={"settings": settings},
            )
            app.state.worker = worker  # /readyz reports its health
            worker_task = asyncio.create_task(worker.run(stop), name="qianbao-worker")
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await warming
            if worker_task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(worker_task, timeout=10)
            await app.state.chat_hub.stop()
            await app.state.ledger_front.drain()
            await ledger_pool.close()
            await db.dispose()

    app = FastAPI(
        title="Qianbao API",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.acquirers = rails.acquirers(settings)  # a missing key stops the start here
    secret = settings.secret_keys_bytes()  # newest first: signs with the first, accepts all

    install_error_handlers(app)
    install_problem_openapi(app)
    app.include_router(health.router)
    app.include_router(ledger_api)
    app.include_router(auth_api)
    app.include_router(me_api)
    app.include_router(kyc_api)
    app.include_router(staff_api)
    app.include_router(wallet_api)
    app.include_router(history_api)
    app.include_router(statements_api)
    app.include_router(exchange_api)
    app.include_router(chain_api)
    app.include_router(insights_api)
    app.include_router(cards_api)
    app.include_router(held_api)
    app.include_router(disputes_api)
    app.include_router(merchant_disputes_api)
    app.include_router(payments_api)
    app.include_router(topup_methods_api)
    app.include_router(wallet_callbacks)  # Alipay, WeChat Pay: before the card's {provider}
    app.include_router(payment_callbacks)
    app.include_router(wallet_ops_api)
    app.include_router(merchant_api)
    app.include_router(agents_api)
    app.include_router(merchant_webhooks_api)
    app.include_router(pay_api)
    app.include_router(risk_api)
    app.include_router(bank_api)
    app.include_router(bank_payouts_api)
    app.include_router(finance_api)
    app.include_router(help_api)
    app.include_router(chat_api)
    app.include_router(chat_history_api)
    app.include_router(tickets_api)
    app.include_router(verify_api)
    app.include_router(channels_api)
    include_pages(app)  # every page, in order (qianbao.web.routes.pages)
    app.include_router(console_api)
    app.include_router(console_desk_api)
    app.include_router(console_topups_api)
    if settings.environment != "production":
        app.include_router(demo_shop.router)  # a pretend outside shop (the demo data's)
    # Style sheets and scripts compressed (HTML is not: with a secret on the page, compressing
    # it next to reflected input would open the BREACH side channel).
    app.mount(
        "/static",
        GZipMiddleware(StaticFiles(directory=STATIC_DIR), minimum_size=1024),
        name="static",
    )

    # Added innermost first: the last one added wraps all the others.
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(
        RequestGuardMiddleware,
        max_body=settings.http.max_body_bytes,
        max_upload=settings.http.max_upload_bytes,
        secret=secret,
        session_cookie=settings.security.session_cookie,
        respond_error=respond_error,
    )
    # Per client address, before anything touches the database (issue 13).
    app.state.throttle_buckets = Buckets()
    app.add_middleware(
        ThrottleMiddleware,
        limits=lambda: settings.throttle,
        clock=app.state.clock,
        refuse=respond_rate_limited,
        buckets=app.state.throttle_buckets,
    )
    # At most max_in_flight requests at once; the excess is refused in milliseconds (issue 13).
    app.state.admission = Gate(settings.http.max_in_flight, settings.http.admission_wait_ms)
    app.add_middleware(AdmissionMiddleware, gate=app.state.admission, refuse=respond_busy)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.http.https)
    app.add_middleware(
        RequestContextMiddleware,
        default_locale=settings.i18n.default_locale,
        locale_cookie=settings.i18n.locale_cookie,
        csrf_cookie=settings.security.csrf_cookie,
        secret=secret,
        secure_cookies=settings.http.https,
    )
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory qianbao.main:app_from_environment`` (several workers)."""
    from qianbao.kernel.logging import configure_logging

    settings = get_settings()
    configure_logging(level=settings.logging.level, json_logs=settings.logging.json_logs)
    return create_app(settings)
