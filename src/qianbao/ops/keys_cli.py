"""`qianbao keys ...`: rotating the data keys, the secret key and the PIN pepper."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from qianbao.ops.cli_support import fail, load_settings
from qianbao.ops.database import DatabaseUnavailable, prepare_database
from qianbao.ops.embedded_pg import EmbeddedPostgresError
from qianbao.ops.keys import KeySets, Report, rewrap

keys_app = typer.Typer(
    help="Key rotation: re-seal stored data with the newest keys.", no_args_is_help=True
)


@keys_app.command("rewrap")
def keys_rewrap(
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Rows per committed transaction.")
    ] = 500,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be re-sealed.")
    ] = False,
) -> None:
    """Re-seal every stored ciphertext with the newest key of its family (idempotent).

    Run it after putting a new key first in a key list; then remove the old key."""
    settings = load_settings()
    try:
        keys = KeySets.of(settings)
    except RuntimeError as exc:  # production without a secret
        raise fail(str(exc)) from exc
    try:
        target = prepare_database(settings)
    except (EmbeddedPostgresError, DatabaseUnavailable) as exc:
        raise fail(str(exc)) from exc
    try:
        report = asyncio.run(rewrap(settings, target.url, batch=batch_size, write=not dry_run))
    finally:
        if target.embedded is not None and target.started_here:
            target.embedded.stop()
    newest = ", ".join(f"{name} {kid}" for name, kid in keys.ids(settings).items())
    typer.echo(f"Newest keys (ids): {newest}")
    _print(report, dry_run=dry_run)
    if report.unreadable:
        raise fail(
            f"{report.unreadable} stored value(s) open with none of the listed keys: keep every "
            "key you have removed recently, put it back in the list and run this again."
        )


def _print(report: Report, *, dry_run: bool) -> None:
    verb = "to re-seal" if dry_run else "re-sealed"
    for kind, tally in report.kinds.items():
        typer.echo(
            f"  {kind:<26} {verb} {tally.resealed:>7}   already current {tally.current:>7}"
            f"   unreadable {tally.unreadable:>5}"
        )
    typer.echo(
        f"  payment PINs not on the newest pepper: {report.pins_on_older_pepper} "
        "(each is re-hashed with the newest pepper when it is next used)"
    )
    typer.echo(
        f"  unused recovery codes not on the newest secret key: "
        f"{report.recovery_codes_on_older_key} (made under an older key, or before key ids "
        "were recorded: they work while their key is listed; users replace them in the "
        "security centre)"
    )
    if not dry_run and not report.unreadable:
        typer.echo(
            "Done: data keys other than the newest can be removed now. Keep an older secret "
            "key or pepper listed while the counts above it depend on are not 0."
        )
