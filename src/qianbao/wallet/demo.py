"""Demo money for `make run` (idempotent): the two demo users get a payment PIN, a funded CNY
wallet and a few transfers between them, so the wallet pages have something to show."""

from __future__ import annotations

from qianbao.demo import DemoLogin, demo_loader
from qianbao.identity import pin as identity_pin
from qianbao.identity.accounts import by_phone
from qianbao.identity.context import IdentityContext
from qianbao.kernel.db import Database
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.wallet import transfer as wallet_transfer
from qianbao.wallet.accounts import wallet_account

DEMO_PIN = "258013"
FUNDING = {"+8613800138000": 100_000, "+8613900139000": 50_000}  # 1,000.00 and 500.00 CNY
TRANSFERS = [
    ("+8613800138000", "+8613900139000", "88.00", "晚饭 dinner"),
    ("+8613900139000", "+8613800138000", "25.50", "电影票"),
    ("+8613800138000", "+8613900139000", "12.00", "coffee"),
]


@demo_loader("wallet", order=20)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    ctx = IdentityContext(settings=get_settings(), db=db)
    async with db.transaction() as session:
        ledger = await Ledger.of_session(session)
        source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
        for phone, amount in FUNDING.items():
            user = await by_phone(session, phone)
            if user is None:
                continue
            if user.pin_hash is None:
                await identity_pin.set_pin(session, ctx, user, DEMO_PIN)
            account = await wallet_account(session, user.id, "CNY")
            await ledger.post(
                transfer(
                    f"demo-fund:{user.id}",
                    debit_account_id=source,
                    credit_account_id=account.id,
                    amount=amount,
                    currency="CNY",
                    entry_type="funding",
                )
            )
        await session.flush()
    for i, (sender_phone, to, amount_text, note) in enumerate(TRANSFERS):
        async with db.transaction() as session:
            sender = await by_phone(session, sender_phone)
            if sender is None:
                continue
            await wallet_transfer.send(
                session,
                ctx,
                sender,
                to=to,
                amount=Money.parse(amount_text, "CNY"),
                note=note,
                pin=DEMO_PIN,
                key=f"demo-transfer-{i}",
            )
    return [DemoLogin(role="payment PIN", login="13800138000, 13900139000", password=DEMO_PIN)]
