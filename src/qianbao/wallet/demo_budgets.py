"""Demo budgets for `make run` (idempotent): 张三 (13800138000) has monthly budgets in CNY for
food and drink, shopping and transfers to people; the transfers budget is already past 80 % of
this month's spending, and its alert is in his messages.

The budgets follow the month's real demo history (it is booked by the other demos' moments, so
this runs as the last moment of the timeline): the transfers budget is set a little above what
he sent this month (80–88 % of it is spent), food and shopping well above theirs. Early in a
month, when he has sent almost nothing yet, he first sends Li Mei a share of a dinner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from qianbao.demo import DemoLogin, at_moment, demo_loader
from qianbao.identity.accounts import by_phone
from qianbao.identity.context import IdentityContext
from qianbao.kernel.db import Database
from qianbao.kernel.money import Money
from qianbao.wallet import budgets, insights
from qianbao.wallet import transfer as wallet_transfer
from qianbao.wallet.demo import DEMO_PIN, LI, ZHANG

CURRENCY = "CNY"
MIN_SENT = 20_00  # below this, a budget "past 80 %" would be a few yuan: send a dinner share
DINNER_SHARE = Money(88_00, CURRENCY)


def _up_to_yuan(minor: int) -> int:
    return -(-minor // 100) * 100


def _seed(db: Database, ctx: IdentityContext) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with db.transaction() as session:
            user = await by_phone(session, ZHANG)
            if user is None or await budgets.budgets_of(session, user.id, CURRENCY):
                return
            month = insights.this_month(session)
            spent = await insights.month_spending(session, user.id, CURRENCY, month)
            if spent.get("transfers", 0) < MIN_SENT and user.pin_hash is not None:
                await wallet_transfer.send(
                    session, ctx, user, to=LI, amount=DINNER_SHARE, note="聚餐 AA dinner",
                    pin=DEMO_PIN, key="demo-budget-dinner",
                )  # fmt: skip
                spent = await insights.month_spending(session, user.id, CURRENCY, month)
            sent = max(spent.get("transfers", 0), MIN_SENT)
            amounts = {
                "food": max(300_00, _up_to_yuan(spent.get("food", 0) * 2)),
                "shopping": max(500_00, _up_to_yuan(spent.get("shopping", 0) * 2)),
                # 80–88 % spent: over 80 % (the alert), under 100 %.
                "transfers": _up_to_yuan(-(-sent * 100 // 88)),
            }
            for category, minor in amounts.items():
                await budgets.set_budget(
                    session, user.id, category=category, currency=CURRENCY,
                    amount=Money(minor, CURRENCY).to_decimal_string(),
                )  # fmt: skip
            await budgets.check(session, ctx.settings, user.id, CURRENCY, month)

    return run


@demo_loader("wallet-budgets", order=60)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    ctx = IdentityContext(settings=get_settings(), db=db, clock=db.clock)
    # After every other demo's history (their moments are all in the past).
    at_moment(db.clock.now() + timedelta(seconds=1), _seed(db, ctx))
    return []
