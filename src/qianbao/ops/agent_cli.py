"""`qianbao agents ...`: make an active merchant a cash agent (B5), list the cash points, pause
or resume one. The agent's staff then work at /merchant/agent; customers find the point at
/cash-points."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

import typer

from qianbao.ops.cli_support import CLI_LOCALE, fail, load_settings
from qianbao.ops.database import DatabaseUnavailable, prepare_database
from qianbao.ops.embedded_pg import EmbeddedPostgresError

agents_app = typer.Typer(
    help="Cash agents: shops that take and pay out cash.", no_args_is_help=True
)
T = TypeVar("T")


def _run(work: Callable[[Any, Any], Awaitable[T]]) -> T:
    from qianbao.kernel.db import Database
    from qianbao.kernel.errors import DomainError
    from qianbao.kernel.translations import gettext

    settings = load_settings()
    try:
        target = prepare_database(settings, start=True)
    except (EmbeddedPostgresError, DatabaseUnavailable) as exc:
        raise fail(str(exc)) from exc

    async def go() -> T:
        db = Database(target.url, pool_size=1)
        try:
            async with db.transaction() as session:
                return await work(session, settings)
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except DomainError as exc:
        raise fail(f"{exc.code}: {gettext(CLI_LOCALE, exc.message, **exc.params)}") from exc


def _degrees(text: str, limit: int, name: str) -> Decimal:
    from qianbao.merchants.places import parse_coordinate

    value = parse_coordinate(text, limit)
    if value is None:
        raise typer.BadParameter(f"decimal degrees within ±{limit}", param_hint=name)
    try:
        return Decimal(text.strip()).quantize(Decimal("0.000001"))
    except InvalidOperation:
        raise typer.BadParameter("decimal degrees", param_hint=name) from None


@agents_app.command("add")
def add(
    merchant: Annotated[str, typer.Option(help="The merchant's code (an active merchant).")],
    district: Annotated[str, typer.Option(help="A district we know: 徐汇, Pudong, 朝阳 …")],
    address_zh: Annotated[str, typer.Option(help="The address in Chinese.")],
    address_en: Annotated[str, typer.Option(help="The address in English.")],
    lat: Annotated[str, typer.Option(help="Latitude, decimal degrees (31.1955).")],
    lon: Annotated[str, typer.Option(help="Longitude, decimal degrees (121.4375).")],
    hours: Annotated[
        str,
        typer.Option(
            help='"09:00-21:00" every day, or seven items Monday first: "09:00-21:00,…,closed".'
        ),
    ] = "09:00-21:00",
    phone: Annotated[str | None, typer.Option(help="The point's phone number.")] = None,
) -> None:
    """Make an active merchant a cash agent: its float account and bank reference are created."""
    from qianbao.merchants import agents, onboarding, places

    found = places.find_district(district)
    if found is None:
        raise typer.BadParameter("not a district we know", param_hint="--district")
    try:
        weekly = places.parse_hours(hours)
    except ValueError as exc:
        raise typer.BadParameter(f"not opening hours: {exc}", param_hint="--hours") from None
    latitude, longitude = _degrees(lat, 90, "--lat"), _degrees(lon, 180, "--lon")

    async def work(session: Any, settings: Any) -> tuple[str, str]:
        shop = await onboarding.by_code(session, merchant)
        agent = await agents.register(
            session, settings, shop, city=(found.city_zh, found.city_en),
            district=(found.zh, found.en), address=(address_zh.strip(), address_en.strip()),
            latitude=latitude, longitude=longitude, hours=weekly, phone=phone,
        )  # fmt: skip
        return shop.code, agent.bank_reference

    code, reference = _run(work)
    typer.echo(f"{code} is a cash agent. Float top-ups: a bank transfer with reference {reference}")


@agents_app.command("list")
def list_points() -> None:
    """Every cash point with its float."""
    from qianbao.kernel.money import Money
    from qianbao.merchants import agents

    async def work(session: Any, settings: Any) -> list[str]:
        out = []
        for p in await agents.nearest(session, lat=None, lon=None, limit=1000):
            balance = await agents.float_balance(session, p.agent)
            out.append(
                f"{p.merchant.code}\t{p.agent.status}\t{p.agent.district_zh}\t"
                f"{Money(balance, 'CNY').text()}\t{p.agent.bank_reference}\t{p.merchant.name_zh}"
            )
        return out

    for line in _run(work):
        typer.echo(line)


@agents_app.command("pause")
def pause(
    merchant: Annotated[str, typer.Argument(help="The merchant's code.")],
    resume: Annotated[bool, typer.Option("--resume", help="Take cash again.")] = False,
) -> None:
    """Stop (or, with --resume, restart) a cash point taking cash."""
    from qianbao.merchants import agents, onboarding

    async def work(session: Any, settings: Any) -> str:
        shop = await onboarding.by_code(session, merchant)
        agent = await agents.require_agent(session, shop)
        agent.status = "active" if resume else "paused"
        await session.flush()
        return agent.status

    typer.echo(f"{merchant.upper()}: {_run(work)}")
