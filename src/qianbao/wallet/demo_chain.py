"""Demo USDT on chains for `make run` (idempotent): 张三 (13800138000) has a USDT wallet with two
deposits from the development chain, credited after their confirmations (TRC-20 and ERC-20),
and one TRC-20 withdrawal, confirmed, in the past month. Each event goes through the chain and
the wallet's services at its moment (``at_moment``), so the development chain's blocks, the
ledger and the history agree."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from qianbao.demo import DemoLogin, at_moment, demo_loader
from qianbao.identity.accounts import by_phone
from qianbao.kernel.clock import FrozenClock, with_clock
from qianbao.kernel.db import Database
from qianbao.kernel.money import Money
from qianbao.rails import chain_factory
from qianbao.rails.chain_dev import DevChain
from qianbao.risk.limits import Decision, Limit
from qianbao.wallet import chain, chain_deposits, chain_withdrawals
from qianbao.wallet.models_chain import ChainDeposit

ZHANG = "+8613800138000"
DEPOSITS = [("TRC20", "500.000000", 26, 10), ("ERC20", "120.500000", 13, 15)]  # days ago, hour
WITHDRAWAL = ("TRC20", "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7", "100.000000", 6, 20)


async def _quiet(session: Any, first: int) -> None:
    """Old events do not notify: their outbox messages go (as the wallet's demo does)."""
    await session.execute(
        text("DELETE FROM outbox_messages WHERE id > :first AND topic LIKE 'wallet.chain_%'"),
        {"first": first},
    )


async def _first_message(session: Any) -> int:
    found = await session.execute(text("SELECT coalesce(max(id), 0) FROM outbox_messages"))
    return int(found.scalar_one())


def _moment(db: Database, at: datetime, fn: Callable[[Any], Awaitable[None]]) -> None:
    async def run() -> None:
        async with db.transaction() as session:
            with_clock(session, FrozenClock(at))
            first = await _first_message(session)
            await fn(session)
            await session.flush()
            await _quiet(session, first)

    at_moment(at, run)


def _deposit(db: Database, settings: Any, dev: DevChain, user_id: Any, event: tuple) -> None:
    network, amount, days, hour = event
    now = db.clock.now()
    at = (now - timedelta(days=days)).replace(hour=hour, minute=5, second=0, microsecond=0)
    sent: dict[str, str] = {}

    async def send(session: Any) -> None:
        address = await chain.deposit_address(session, settings, user_id, network, backend=dev)
        minor = Money.parse(amount, chain.CURRENCY).minor
        sent["txid"] = await dev.faucet(session, network, address.address, minor)

    async def credit(session: Any) -> None:
        tx = await dev.transaction(session, network, sent["txid"])
        assert tx is not None
        deposit = await chain_deposits.record(session, settings, tx.transfers[0], user_id)
        assert deposit is not None
        await chain_deposits.advance(session, deposit, tx)

    _moment(db, at, send)
    _moment(db, at + timedelta(minutes=3), credit)  # past the confirmations of either network


def _withdraw(db: Database, settings: Any, dev: DevChain, phone: str) -> None:
    network, address, amount, days, hour = WITHDRAWAL
    now = db.clock.now()
    at = (now - timedelta(days=days)).replace(hour=hour, minute=30, second=0, microsecond=0)
    made: dict[str, Any] = {}

    async def send(session: Any) -> None:
        user = await by_phone(session, phone)
        assert user is not None
        offer = next(o for o in chain.all_offers(settings) if o.code == network)
        value = Money.parse(amount, chain.CURRENCY)
        q = chain_withdrawals.Quote(
            offer, address, value, offer.fee, value.minor + offer.fee,
            Limit(0, "withdrawal", chain.CURRENCY, 0, 0, 0, 0, 0), Decision(True, None, 0, 0),
        )  # fmt: skip
        w = await chain_withdrawals.place(
            session, settings, user, q, key="demo-chain-1", fingerprint="demo-chain-1"
        )
        await chain_withdrawals.send(session, dev, w)
        made["id"] = w.id

    async def confirm(session: Any) -> None:
        w = await chain_withdrawals.locked(session, made["id"])
        assert w is not None
        assert w.txid is not None
        await chain_withdrawals.advance(session, w, await dev.transaction(session, network, w.txid))

    _moment(db, at, send)
    _moment(db, at + timedelta(minutes=3), confirm)


@demo_loader("wallet-chain", order=60)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    settings = get_settings()
    if chain_factory.backend(settings) != "dev" or not settings.chain.networks:
        return []
    async with db.transaction() as session:
        user = await by_phone(session, ZHANG)
        if user is None or user.pin_hash is None:
            return []
        seeded = await session.execute(
            select(ChainDeposit.id).where(ChainDeposit.user_id == user.id).limit(1)
        )
        if seeded.first() is not None:
            return []
        user_id = user.id
    dev = chain_factory.dev_chain(settings)
    for event in DEPOSITS:
        if event[0] in settings.chain.networks:
            _deposit(db, settings, dev, user_id, event)
    if WITHDRAWAL[0] in settings.chain.networks:
        _withdraw(db, settings, dev, ZHANG)
    return []
