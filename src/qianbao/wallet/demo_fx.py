"""Demo exchanges for `make run` (idempotent): 张三 holds USD and USDT wallets with a month of
history (exchanges from CNY, a USD transfer to Li Mei, USDT back to CNY), Li Mei a HKD wallet.
Each event goes through the exchange and transfer services at a moment of the past month, like
the wallet's demo (``wallet/demo.py``); the rates are the finance demo's (``finance/demo.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from qianbao.demo import DemoLogin, at_moment, demo_loader
from qianbao.identity.accounts import by_phone
from qianbao.identity.context import IdentityContext
from qianbao.kernel.clock import LOCAL_TZ, FrozenClock, with_clock
from qianbao.kernel.db import Database
from qianbao.kernel.money import Money
from qianbao.wallet import exchange
from qianbao.wallet import transfer as wallet_transfer
from qianbao.wallet.demo import DEMO_PIN, LI, ZHANG
from qianbao.wallet.models_fx import FxQuote

# (days ago, hour, who, kind, sell, buy, amount the user pays / sends, to)
EVENTS = [
    (22, 10, ZHANG, "exchange", "CNY", "USD", "700.00", ""),
    (19, 14, ZHANG, "transfer", "USD", "", "20.00", LI),
    (17, 9, LI, "exchange", "CNY", "HKD", "300.00", ""),
    (13, 11, ZHANG, "exchange", "CNY", "USDT", "500.00", ""),
    (6, 16, ZHANG, "exchange", "USDT", "CNY", "20.000000", ""),
    (4, 20, ZHANG, "exchange", "USD", "CNY", "15.00", ""),
]


async def _run(session: Any, ctx: IdentityContext, event: tuple[Any, ...], i: int) -> None:
    _, _, who, kind, sell, buy, amount, to = event
    user = await by_phone(session, who)
    assert user is not None
    if kind == "transfer":
        await wallet_transfer.send(
            session, ctx, user, to=to, amount=Money.parse(amount, sell), note="书 books",
            pin=DEMO_PIN, key=f"demo-fx-{i}",
        )  # fmt: skip
        return
    await exchange.open_wallet(session, ctx.settings, user, buy)
    q = await exchange.quote(
        session, ctx.settings, user, sell=sell, buy=buy, amount=Money.parse(amount, sell),
        side="sell",
    )  # fmt: skip
    await exchange.confirm(session, ctx, user, quote_id=q.id, pin=DEMO_PIN, key=f"demo-fx-{i}")


def _happening(
    db: Database, ctx: IdentityContext, event: tuple[Any, ...], i: int, at: datetime
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with db.transaction() as session:
            with_clock(session, FrozenClock(at))
            await _run(session, ctx, event, i)

    return run


@demo_loader("wallet-fx", order=26)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    ctx = IdentityContext(settings=get_settings(), db=db, clock=db.clock)
    async with db.transaction() as session:
        zhang = await by_phone(session, ZHANG)
        if zhang is None:
            return []
        seeded = (
            await session.execute(select(FxQuote.id).where(FxQuote.user_id == zhang.id).limit(1))
        ).first()
        if seeded is not None or "USD" not in await exchange.offered(session, ctx.settings):
            return []
    now = db.clock.now()
    today = now.astimezone(LOCAL_TZ)
    for i, event in enumerate(EVENTS):
        day = (today - timedelta(days=event[0])).date()
        at = datetime(day.year, day.month, day.day, event[1], 41, tzinfo=LOCAL_TZ).astimezone(UTC)
        at_moment(min(at, now - timedelta(minutes=30 - i)), _happening(db, ctx, event, i, at))
    return []
