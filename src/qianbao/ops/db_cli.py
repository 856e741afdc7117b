"""`qianbao db ...`: the embedded PostgreSQL server, and backups of the database in use."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from qianbao.kernel.clock import system_clock
from qianbao.ops import backup as backups
from qianbao.ops.cli_support import fail, load_settings
from qianbao.ops.database import DatabaseUnavailable, embedded_server, prepare_database
from qianbao.ops.embedded_pg import SUPERUSER, EmbeddedPostgresError
from qianbao.settings import Settings

db_app = typer.Typer(
    help="The embedded PostgreSQL server, and backups of the database in use.",
    no_args_is_help=True,
)

BinDir = Annotated[
    Path | None,
    typer.Option(
        "--bin-dir",
        help="Folder of the pg_dump / pg_restore to use instead of the bundled PostgreSQL 18 "
        "ones (an external server older than 17 needs its own version's tools).",
    ),
]


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


@contextmanager
def _database(settings: Settings) -> Iterator[backups.Target]:
    """The database in use, the embedded server started for the command if it was not running
    (and stopped again after it)."""
    try:
        target = prepare_database(settings)
    except (EmbeddedPostgresError, DatabaseUnavailable) as exc:
        raise fail(str(exc)) from exc
    try:
        yield backups.Target.of(target.url)
    finally:
        if target.embedded is not None and target.started_here:
            target.embedded.stop()


def _binary(settings: Settings, bin_dir: Path | None) -> backups.Binary:
    if bin_dir is not None:
        return lambda name: str(bin_dir / name)
    return embedded_server(settings).binary


@db_app.command("backup")
def db_backup(
    file: Annotated[
        Path | None,
        typer.Argument(help="Where to write; default var/backups/qianbao-<UTC time>.dump."),
    ] = None,
    bin_dir: BinDir = None,
) -> None:
    """Back up the database in use (pg_dump, custom format) to FILE."""
    settings = load_settings()
    path = file or backups.default_path(settings.var_dir, system_clock.now())
    with _database(settings) as target:
        try:
            result = backups.backup(target, path, _binary(settings, bin_dir))
        except backups.BackupError as exc:
            raise fail(str(exc)) from exc
    typer.echo(
        f"Backed up {target.label} (schema {result.revision or 'not migrated'}) to "
        f"{result.path} ({result.size:,} bytes). Keep it away from the keys "
        "(QIANBAO_SECURITY__*, QIANBAO_IDENTITY__PIN_PEPPER)."
    )


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A backup made by `qianbao db backup`.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Restore over a database that is not empty (drops and replaces)."
        ),
    ] = False,
    bin_dir: BinDir = None,
) -> None:
    """Restore FILE into the database in use (one transaction; then migrate to this version)."""
    settings = load_settings()
    with _database(settings) as target:
        try:
            result = backups.restore(target, file, _binary(settings, bin_dir), force=force)
        except backups.BackupError as exc:
            raise fail(str(exc)) from exc
    migrated = f", migrated from {result.revision}" if result.revision != result.head else ""
    replaced = f"; replaced {result.replaced} existing tables" if result.replaced else ""
    typer.echo(f"Restored {file} into {target.label}: schema {result.head}{migrated}{replaced}.")
