"""Demo money settings for `make run` (idempotent): the other currencies the demo offers (USD,
HKD, USDT) and their exchange rates, each proposed by the demo supervisor and approved by the
demo admin — so the finance console shows them in force, with their history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qianbao.demo import DemoLogin, demo_loader
from qianbao.finance import changes
from qianbao.identity.accounts import by_phone
from qianbao.kernel.db import Database
from qianbao.moneyconf import rates
from qianbao.moneyconf.rates import DevRates

SUPERVISOR, ADMIN = "+8613600136000", "+8613300133000"
OFFERED = {"USD": "700.00", "HKD": "5500.00", "USDT": "700.000000"}  # review above
SPREAD = Decimal("0.5")


@demo_loader("finance", order=25)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    settings = get_settings()
    async with db.transaction() as session:
        maker = await by_phone(session, SUPERVISOR)
        checker = await by_phone(session, ADMIN)
        if maker is None or checker is None or await rates.stored(session, "USD") is not None:
            return []
        for code, review_above in OFFERED.items():
            proposals: list[tuple[str, dict[str, Any], str]] = [
                (f"currency:{code}", {"enabled": True, "review_above": review_above},
                 "开放外币钱包 offer wallets in this currency"),
                (f"rate:{code}", {"per_cny": str(DevRates.RATES[code]), "spread": str(SPREAD)},
                 "每日牌价 daily rate"),
            ]  # fmt: skip
            for target, values, reason in proposals:
                change = await changes.propose(
                    session, settings, maker, target=target, values=values, reason=reason
                )
                await changes.decide(session, settings, checker, change.id, approve=True)
    return []
