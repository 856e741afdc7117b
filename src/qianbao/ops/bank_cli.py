"""`qianbao bank ...`: the operator's bank rails from the command line — import a statement
file (camt.053, camt.054, MT940), list the receiving accounts, add one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from qianbao.ops.cli_support import CLI_LOCALE, fail, load_settings
from qianbao.ops.database import DatabaseUnavailable, prepare_database
from qianbao.ops.embedded_pg import EmbeddedPostgresError

bank_app = typer.Typer(
    help="Bank rails: statement import, receiving accounts.", no_args_is_help=True
)


def _url() -> tuple[str, object]:
    settings = load_settings()
    try:
        target = prepare_database(settings, start=True)
    except (EmbeddedPostgresError, DatabaseUnavailable) as exc:
        raise fail(str(exc)) from exc
    return target.url, settings


@bank_app.command("import")
def bank_import(
    files: Annotated[list[Path], typer.Argument(help="Statement files, imported one by one.")],
) -> None:
    """Import bank statement files: each file once, each line once, a malformed file not at all."""
    from qianbao.banking.inbox import describe, import_one
    from qianbao.kernel.db import Database
    from qianbao.kernel.errors import DomainError

    url, settings = _url()

    async def _run() -> int:
        db = Database(url, pool_size=2)
        failed = 0
        try:
            for path in files:
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    typer.secho(
                        f"{path}: cannot read: {exc.strerror}", fg=typer.colors.RED, err=True
                    )
                    failed += 1
                    continue
                try:
                    r = await import_one(db, settings, data, filename=path.name, source="command")
                except DomainError as exc:
                    typer.secho(
                        f"{path}: refused ({exc.code}): {describe(exc, CLI_LOCALE)}",
                        fg=typer.colors.RED,
                        err=True,
                    )
                    failed += 1
                    continue
                typer.echo(
                    f"{path}: {r.kind}, {r.statements} statement(s), {r.lines} line(s): "
                    f"{r.credited} credited to wallets, {r.booked} booked, {r.suspense} to "
                    f"suspense, {r.already_imported} already imported."
                )
        finally:
            await db.dispose()
        return failed

    if asyncio.run(_run()):
        raise typer.Exit(1)


@bank_app.command("accounts")
def bank_accounts() -> None:
    """List the receiving accounts."""
    from qianbao.banking import accounts
    from qianbao.kernel.db import Database

    url, _ = _url()

    async def _run() -> None:
        db = Database(url, pool_size=1)
        try:
            async with db.transaction() as session:
                for a in await accounts.all_accounts(session):
                    state = "active" if a.active else "inactive"
                    typer.echo(
                        f"{a.code}\t{a.currency}\t{a.bank_name}\t{a.account_number}\t"
                        f"{a.holder_name}\t{state}"
                    )
        finally:
            await db.dispose()

    asyncio.run(_run())


@bank_app.command("add-account")
def bank_add_account(
    code: Annotated[str, typer.Option(help="A short name of your own, e.g. ICBC-CNY-1.")],
    holder: Annotated[str, typer.Option(help="The account name users must pay to.")],
    bank: Annotated[str, typer.Option(help="The bank (and branch) users see.")],
    number: Annotated[str, typer.Option(help="The account number users pay to.")],
    currency: Annotated[str, typer.Option(help="CNY, USD, ...")] = "CNY",
    statement_id: Annotated[
        str | None,
        typer.Option(help="How the bank names the account in statements, if not the number."),
    ] = None,
    bic: Annotated[str | None, typer.Option(help="The bank's BIC (SWIFT code).")] = None,
) -> None:
    """Add a receiving account (users see it on the top-up page)."""
    from qianbao.banking import accounts
    from qianbao.kernel.db import Database

    url, _ = _url()

    async def _run() -> None:
        db = Database(url, pool_size=1)
        try:
            async with db.transaction() as session:
                await accounts.add(
                    session,
                    code=code,
                    holder_name=holder,
                    bank_name=bank,
                    account_number=number,
                    currency=currency.upper(),
                    statement_id=statement_id,
                    bic=bic,
                )
        finally:
            await db.dispose()

    asyncio.run(_run())
    typer.echo(f"Receiving account {code} is ready.")
