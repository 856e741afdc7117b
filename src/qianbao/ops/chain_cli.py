"""`qianbao chain ...`: the development chain from the command line — send test USDT to an
address or to a user's deposit address (never in production)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from qianbao.ops.cli_support import CLI_LOCALE, fail, load_settings
from qianbao.ops.database import DatabaseUnavailable, prepare_database
from qianbao.ops.embedded_pg import EmbeddedPostgresError

chain_app = typer.Typer(help="USDT on chains: the development chain.", no_args_is_help=True)


@chain_app.command("dev-send")
def dev_send(
    amount: Annotated[str, typer.Option(help="USDT, at most six decimals (e.g. 100 or 12.5).")],
    network: Annotated[str, typer.Option(help="TRC20 or ERC20.")] = "TRC20",
    to: Annotated[str | None, typer.Option(help="The address to send to.")] = None,
    phone: Annotated[
        str | None, typer.Option(help="Or a user's mobile number: to their deposit address.")
    ] = None,
) -> None:
    """Send test USDT from the development chain. The watcher credits it after the
    confirmations (`make run`: about a minute on TRC-20)."""
    from qianbao.identity.accounts import by_phone
    from qianbao.identity.phones import normalize_phone
    from qianbao.kernel.db import Database
    from qianbao.kernel.errors import DomainError
    from qianbao.kernel.money import Money
    from qianbao.kernel.translations import gettext
    from qianbao.rails import chain_factory
    from qianbao.rails.chain_addresses import network_of, parse_address, shown_txid
    from qianbao.wallet import chain

    settings = load_settings()
    if not chain_factory.dev_active(settings):
        raise fail("The development chain is not in use here (QIANBAO_CHAIN__BACKEND).")
    if (to is None) == (phone is None):
        raise fail("Give either --to ADDRESS or --phone NUMBER.")
    try:
        target = prepare_database(settings, start=True)
    except (EmbeddedPostgresError, DatabaseUnavailable) as exc:
        raise fail(str(exc)) from exc

    async def _send() -> tuple[str, str, str]:
        db = Database(target.url, pool_size=1)
        try:
            async with db.transaction() as session:
                code = network_of(network, settings.chain.networks)
                value = Money.parse(amount.strip(), "USDT", allow_zero=False)
                if to is not None:
                    address = parse_address(code, to)
                    dev = chain_factory.dev_chain(settings)
                    return code, address, await dev.faucet(session, code, address, value.minor)
                user = await by_phone(session, normalize_phone(phone or "", "CN"))
                if user is None:
                    raise typer.BadParameter("no user has this mobile number", param_hint="--phone")
                dev = chain_factory.dev_chain(settings)
                found = await chain.deposit_address(session, settings, user.id, code, backend=dev)
                return (
                    code,
                    found.address,
                    await dev.faucet(session, code, found.address, value.minor),
                )
        finally:
            await db.dispose()

    try:
        code, address, txid = asyncio.run(_send())
    except DomainError as exc:
        raise fail(f"{exc.code}: {gettext(CLI_LOCALE, exc.message, **exc.params)}") from exc
    typer.echo(f"Sent {amount} USDT on {code} to {address}\ntransaction {shown_txid(code, txid)}")
