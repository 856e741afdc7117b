"""The demo's stuck top-up (issue 20): 张三 (13800138000) has a 300.00 top-up paid at the sandbox
bank whose callback never came; the supervisor's re-query credits it once."""

from __future__ import annotations

from sqlalchemy import select

from qianbao.demo import load_demo_data
from qianbao.identity.accounts import by_phone
from qianbao.kernel.db import Database
from qianbao.rails.factory import Acquirers
from qianbao.rails.sandbox import SandboxAcquirer
from qianbao.support.console import topups
from qianbao.wallet import accounts, topup_repair
from qianbao.wallet.models import Topup
from tests.integration.test_wallet_demo import demo_env  # noqa: F401 (fixture)


async def test_the_demo_has_a_stuck_top_up_that_a_re_query_credits(
    demo_env,  # noqa: F811
    fresh_db: Database,
):
    await load_demo_data(fresh_db)
    async with fresh_db.transaction() as s:
        zhang = await by_phone(s, "+8613800138000")
        supervisor = await by_phone(s, "+8613600136000")
        assert zhang is not None and supervisor is not None
        stuck = await topup_repair.of_customer(s, zhang.id)
        assert [(x.topup.amount, x.topup.status) for x in stuck] == [(30_000, "pending")]
        before = {b.currency: b.available for b in await accounts.balances(s, zhang.id)}
        topup_id = stuck[0].topup.id
    acquirers = Acquirers({"card": SandboxAcquirer(b"unused-for-queries")})
    async with fresh_db.transaction() as s:
        done = await topups.requery(s, acquirers, supervisor, topup_id)
    assert (done.answer, done.before, done.topup.status) == ("succeeded", "pending", "succeeded")
    async with fresh_db.transaction() as s:
        after = {b.currency: b.available for b in await accounts.balances(s, zhang.id)}
        assert after["CNY"] == before["CNY"] + 30_000
        row = (await s.execute(select(Topup).where(Topup.id == topup_id))).scalar_one()
        assert row.entry_id is not None
