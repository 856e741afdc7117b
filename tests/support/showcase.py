"""The same customer, with the same history, at the same moment, every time: the data the
screenshot and accessibility tests look at (tests/web/test_visual.py, test_accessibility.py).

Everything goes through the services (sign-up data, PIN, ledger, transfers); only the one
15-digit history row of the "long amounts" customer is written directly, since no limit lets
such an amount through a transfer.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qianbao.identity import pin
from qianbao.identity.models import User
from qianbao.identity.passwords import hash_password
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.wallet import transfer as wallet_transfer
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD
from tests.support.pages import rules_off_ctx

PIN = "583920"
# The moment of the screenshots: a weekday morning in China (no "unusual hour" step-up).
AT = datetime(2026, 11, 30, 10, 0, tzinfo=LOCAL_TZ)


@dataclass(frozen=True)
class Showcase:
    customer: str  # local number of 张三 (balance ¥3,157.00, a few transfers)
    friend: str  # Li Mei, the other side of them
    newcomer: str  # no PIN, no card, no transactions: the empty states and next steps
    long: str  # a 15-digit balance and a 15-digit history row (the 320 px checks)
    password: str = STRONG_PASSWORD


async def _user(s: Any, phone: str, name: str | None, locale: str) -> User:
    user = User(
        phone="+86" + phone,
        password_hash=await hash_password(STRONG_PASSWORD),
        real_name=name,
        locale=locale,
        password_changed_at=AT,
        created_at=AT,
        terms_version="2026-12-05",
        terms_accepted_at=AT,
    )
    s.add(user)
    await s.flush()
    return user


async def _fund(s: Any, user: User, minor: int) -> int:
    ledger = await Ledger.of_session(s)
    wallet = await wallet_account(s, user.id, "CNY")
    source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
    await ledger.post(
        transfer(
            f"showcase-{user.id}",
            debit_account_id=source,
            credit_account_id=wallet.id,
            amount=minor,
            currency="CNY",
        )
    )
    return wallet.id


def seed(server: Any, prefix: str = "1380000") -> Showcase:
    """Create the showcase customers on ``server`` (a pages server with its own database) and
    leave its clock frozen at ``AT``."""
    shown = Showcase(
        customer=prefix + "1111",
        friend=prefix + "2222",
        newcomer=prefix + "3333",
        long=prefix + "4444",
    )

    async def go() -> None:
        db = server.database()
        ctx = rules_off_ctx(server, db)
        try:
            server.clock.freeze(AT.replace(month=10, day=1, hour=9))
            async with db.transaction() as s:
                customer = await _user(s, shown.customer, "张三", "zh_CN")
                friend = await _user(s, shown.friend, "Li Mei", "en")
                await _user(s, shown.newcomer, None, "zh_CN")
                long = await _user(s, shown.long, "王小明", "zh_CN")
                for u in (customer, friend, long):
                    await pin.set_pin(s, ctx, u, PIN)
                await _fund(s, customer, 315_700)
                await _fund(s, friend, 50_000)
                account = await _fund(s, long, 12_345_678_901_234_500)
                s.add(
                    WalletTransaction(
                        user_id=long.id,
                        account_id=account,
                        kind="topup",
                        direction="in",
                        currency="CNY",
                        amount=12_345_678_901_234_500,
                        balance_after=12_345_678_901_234_500,
                        reference="202611200000000001",
                        created_at=AT.replace(day=20, hour=9),
                        listed_at=AT.replace(day=20, hour=9),
                    )
                )
            moves = [
                (customer, shown.friend, 3_550, "午饭", AT.replace(day=21, hour=12, minute=30)),
                (friend, shown.customer, 12_800, "生日快乐", AT.replace(day=25, hour=20)),
                (customer, shown.friend, 990, "books", AT.replace(day=28, hour=10, minute=17)),
                (customer, shown.friend, 20_000, None, AT.replace(month=10, day=30, hour=18)),
            ]
            for sender, to, minor, note, at in moves:
                server.clock.freeze(at)
                async with db.transaction() as s:
                    user = await s.get(User, sender.id)
                    await wallet_transfer.send(
                        s,
                        ctx,
                        user,
                        to=to,
                        amount=Money(minor, "CNY"),
                        note=note,
                        pin=PIN,
                        key=uuid.uuid4().hex,
                    )
        finally:
            server.clock.freeze(AT)
            await db.dispose()

    in_thread(asyncio.run, go())
    return shown
