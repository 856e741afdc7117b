"""The ``qianbao`` command: serve, run (everything for development), migrate, demo, worker, db."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import sys
from typing import Annotated, Any

import typer

from qianbao import __version__
from qianbao.ops.agent_cli import agents_app
from qianbao.ops.bank_cli import bank_app
from qianbao.ops.chain_cli import chain_app
from qianbao.ops.cli_support import CLI_LOCALE, demo_defaults, fail, load_settings
from qianbao.ops.database import (
    DatabaseTarget,
    DatabaseUnavailable,
    prepare_database,
)
from qianbao.ops.db_cli import db_app
from qianbao.ops.embedded_pg import EmbeddedPostgresError
from qianbao.ops.im_cli import im_app
from qianbao.ops.keys_cli import keys_app
from qianbao.ops.migrate import MigrationFailed, upgrade
from qianbao.settings import Settings

# No rich tracebacks: they print local variables, which may hold secrets.
app = typer.Typer(
    help="Qianbao (钱包): wallet platform with a built-in help desk.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(bank_app, name="bank")
app.add_typer(chain_app, name="chain")
app.add_typer(agents_app, name="agents")
app.add_typer(im_app, name="im")


def _prepare(settings: Settings, *, start: bool = True) -> DatabaseTarget:
    try:
        return prepare_database(settings, start=start)
    except (EmbeddedPostgresError, DatabaseUnavailable) as exc:
        raise fail(str(exc)) from exc


def _migrate(target: DatabaseTarget) -> None:
    try:
        upgrade(target.url)
    except MigrationFailed as exc:
        raise fail(str(exc)) from exc


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise fail(
                    f"Port {port} on {host} is already in use. Stop the program using it "
                    f"(try: ss -ltnp 'sport = :{port}'), or choose another port with "
                    f"QIANBAO_HTTP__PORT=8001 (or --port 8001)."
                ) from exc
            raise fail(f"Cannot listen on {host}:{port}: {exc.strerror}.") from exc


def _serve(
    settings: Settings,
    target: DatabaseTarget,
    host: str,
    port: int,
    *,
    worker: bool,
    stop_embedded: bool = True,
) -> None:
    import uvicorn

    from qianbao.main import create_app

    _check_port_free(host, port)
    # --host/--port win over the settings: the app's own address (settings.http.base_url, used
    # by jobs that call back into it) must be where it really listens.
    settings.http.host, settings.http.port = host, port
    application = create_app(settings, database_url_override=target.url, run_worker=worker)
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.http.trusted_proxies),
        server_header=False,
    )
    server = uvicorn.Server(config)

    def _terminated(*_: object) -> None:
        # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into a normal exit so
        # the `finally` blocks (stopping the embedded database) still run.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminated)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if stop_embedded and target.embedded is not None and target.started_here:
            target.embedded.stop()


def _print_banner(
    settings: Settings, target: DatabaseTarget, host: str, port: int, logins: list
) -> None:
    shown = "localhost" if host in {"127.0.0.1", "localhost"} else host
    typer.secho(
        f"\nQianbao {__version__} — http://{shown}:{port}/", fg=typer.colors.GREEN, bold=True
    )
    typer.echo(f"  database : {target.describe()}")
    typer.echo(f"  API docs : http://{shown}:{port}/docs")
    typer.echo("  (open localhost rather than 127.0.0.1: browsers allow passkeys only on a domain)")
    if logins:
        typer.echo("  demo logins (who / number / password or PIN):")
        for login in logins:
            typer.echo(f"    {login.role:<16} {login.login:<26} {login.password}  {login.note}")
    else:
        typer.echo("  demo logins: none yet (they arrive with the identity and wallet features)")
    typer.echo("  Press Ctrl-C to stop (the embedded database stops too; data stays in var/).\n")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Everything for development: embedded database, migrations, demo data, web + worker."""
    settings = load_settings()
    _refuse_demo_in_production(settings)
    demo_defaults(settings)
    host = host or settings.http.host
    port = port or settings.http.port
    _check_port_free(host, port)
    target = _prepare(settings)
    try:
        _migrate(target)
        logins = asyncio.run(_load_demo(target.url))
        _print_banner(settings, target, host, port, logins)
        _serve(settings, target, host, port, worker=True, stop_embedded=False)
    finally:
        # `run` owns the embedded server for its lifetime, even one left running by a crash.
        if target.embedded is not None and target.embedded.stop():
            typer.echo(
                "Embedded PostgreSQL stopped; the data stays in " + str(target.embedded.data_dir)
            )


def _refuse_demo_in_production(settings: Settings) -> None:
    # The demo users have a published password and a supervisor with a TOTP secret in the
    # source: they must never reach a production database (ASVS 6.3.2).
    if settings.environment == "production":
        raise fail(
            "Demo data is never loaded in production (QIANBAO_ENVIRONMENT=production): its "
            "logins are public. Use `qianbao serve` to run, `qianbao migrate` to prepare."
        )


async def _load_demo(url: str) -> list:
    from qianbao.demo import load_demo_data
    from qianbao.kernel.db import Database

    db = Database(url, pool_size=2, max_overflow=0)
    try:
        return await load_demo_data(db)
    finally:
        await db.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Web processes (>1 runs the job worker separately).")
    ] = None,
) -> None:
    """Serve the web app and API (the database must be migrated: `qianbao migrate`)."""
    settings = load_settings()
    host = host or settings.http.host
    port = port or settings.http.port
    workers = workers or settings.http.workers
    target = _prepare(settings)
    if workers > 1:
        import uvicorn

        _check_port_free(host, port)
        os.environ.setdefault("QIANBAO_WORKER__IN_PROCESS", "false")
        uvicorn.run(
            "qianbao.main:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            # Behind a proxy the client address (per-address limits, logs) comes from
            # X-Forwarded-For, trusted only from these addresses — as with one worker.
            proxy_headers=True,
            forwarded_allow_ips=",".join(settings.http.trusted_proxies),
            server_header=False,
        )
        return
    _serve(settings, target, host, port, worker=settings.worker.in_process)


def _run_loop(main: Any) -> None:
    """``asyncio.run`` on uvloop (installed with uvicorn), which the web server uses too: less
    CPU per database round trip than the standard loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a runtime dependency
        asyncio.run(main)
    else:
        uvloop.run(main)


@app.command()
def migrate() -> None:
    """Apply database migrations (all in one transaction)."""
    settings = load_settings()
    target = _prepare(settings)
    _migrate(target)
    typer.echo(f"Migrations applied to the {target.describe()}.")


@app.command()
def demo() -> None:
    """Load the demo data (idempotent) and print the demo logins."""
    settings = load_settings()
    _refuse_demo_in_production(settings)
    target = _prepare(settings)
    _migrate(target)
    logins = asyncio.run(_load_demo(target.url))
    for login in logins:
        typer.echo(f"{login.role}\t{login.login}\t{login.password}\t{login.note}")
    if not logins:
        typer.echo("No demo logins yet.")


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Jobs run at once (each on its own connection).")
    ] = 4,
) -> None:
    """Run the job worker (outbox relay + jobs) until interrupted."""
    from qianbao.kernel.db import Database
    from qianbao.main import pooler_args
    from qianbao.tasks import register_tasks
    from qianbao.worker import Worker

    settings = load_settings()
    target = _prepare(settings)
    register_tasks(
        {"ledger.expire_holds": settings.ledger.hold_sweep_interval_s}, settings=settings
    )

    async def _main() -> None:
        db = Database(
            target.url,
            pool_size=concurrency + 2,
            statement_timeout_ms=settings.database.statement_timeout_ms,
            lock_timeout_ms=settings.database.lock_timeout_ms,
            **pooler_args(settings, target.url),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        w = Worker(
            db,
            poll_interval=settings.worker.poll_interval_s,
            batch_size=settings.worker.batch_size,
            jobs_per_transaction=settings.worker.jobs_per_transaction,
            max_attempts=settings.worker.max_attempts,
            services={"settings": settings},
            concurrency=concurrency,
        )
        try:
            await w.run(stop)
        finally:
            await db.dispose()

    _run_loop(_main())


@app.command("create-staff")
def create_staff(
    phone: Annotated[str, typer.Option(help="Mobile number of the staff member.")],
    role: Annotated[str, typer.Option(help="support_agent, supervisor, admin or merchant_staff.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a staff account (asks for the password; 2FA is enrolled at first sign-in)."""
    from qianbao.identity import accounts as identity_accounts
    from qianbao.identity.context import IdentityContext
    from qianbao.kernel.db import Database
    from qianbao.kernel.errors import DomainError
    from qianbao.kernel.translations import gettext

    settings = load_settings()
    target = _prepare(settings)
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def _create() -> str:
        db = Database(target.url, pool_size=2)
        try:
            async with db.transaction() as session:
                user = await identity_accounts.create_staff(
                    session,
                    IdentityContext(settings=settings, db=db),
                    phone_raw=phone,
                    password=password,
                    role=role,
                    name=name,
                )
                return str(user.id)
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(_create())
    except DomainError as exc:
        raise fail(gettext(CLI_LOCALE, exc.message, **exc.params)) from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"Created {role} {user_id}. They must turn on two-factor authentication at first sign-in."
    )


@app.command("support-mail")
def support_mail(
    host: Annotated[
        str | None, typer.Option(help="Listen address (QIANBAO_TICKETS__MAIL_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Listen port (QIANBAO_TICKETS__MAIL_PORT).")
    ] = None,
) -> None:
    """Receive support e-mail by SMTP: each message becomes a ticket or a reply (until Ctrl-C)."""
    from qianbao.kernel.db import Database
    from qianbao.support.tickets.mail_in import serve

    settings = load_settings()
    target = _prepare(settings)
    host = host or settings.tickets.mail_host
    port = port or settings.tickets.mail_port
    _check_port_free(host, port)

    async def _main() -> None:
        db = Database(target.url, pool_size=4)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        server = await serve(db, settings, host=host, port=port)
        typer.echo(f"Support mail: listening for SMTP on {host}:{port}.")
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()
            await db.dispose()

    asyncio.run(_main())


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
