"""The demo data `make run` seeds: a month of varied history that the ledger, the history and the
monthly statements agree on; running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from qianbao.demo import load_demo_data
from qianbao.identity.accounts import by_phone
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.db import Database
from qianbao.settings import get_settings
from qianbao.wallet import accounts, history, statement


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QIANBAO_ENVIRONMENT", "test")
    monkeypatch.setenv("QIANBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QIANBAO_SECURITY__SECRET_KEY", "demo-test-secret-key-0123456789abcdef")
    monkeypatch.setenv("QIANBAO_SMS__OUTBOX_PATH", str(tmp_path / "sms.jsonl"))
    monkeypatch.setenv("QIANBAO_PAYMENTS__PAYOUT_OUTBOX_PATH", str(tmp_path / "payouts.jsonl"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_a_month_of_history_that_the_statements_agree_with(demo_env, fresh_db: Database):
    logins = await load_demo_data(fresh_db)
    assert {login.role for login in logins} >= {"user", "supervisor", "payment PIN"}
    async with fresh_db.transaction() as s:
        counts = dict(
            (
                await s.execute(text("SELECT kind, count(*) FROM wallet_transactions GROUP BY 1"))
            ).all()
        )
        assert counts["transfer"] >= 20 and counts["topup"] >= 4 and counts["withdrawal"] >= 4
        # A reference starts with its booking date (China time), also for history seeded into
        # the past.
        dated = await s.execute(text("SELECT reference, created_at FROM wallet_transactions"))
        wrong = [
            (ref, at)
            for ref, at in dated.all()
            if ref[:8] != at.astimezone(LOCAL_TZ).strftime("%Y%m%d")
        ]
        assert wrong == []
        statuses = {r[0] for r in await s.execute(text("SELECT status FROM wallet_transactions"))}
        assert statuses >= {"completed", "failed", "pending", "reversed"}
        for phone in ("+8613800138000", "+8613900139000"):
            user = await by_phone(s, phone)
            assert user is not None
            page = await history.list_transactions(s, user.id, history.Filters(), limit=100)
            oldest = min(r.created_at for r in page.rows)
            assert fresh_db.clock.now() - oldest > timedelta(days=25)  # a month, not one instant
            recent = await history.list_transactions(
                s, user.id, history.Filters(period="7d"), limit=100
            )
            assert 0 < len(recent.rows) < len(page.rows)
            today = fresh_db.clock.today().replace(day=1)
            months = [today, (today - timedelta(days=1)).replace(day=1)]
            held = await accounts.balances(s, user.id)
            # Several currencies (the finance demo offers USD, HKD, USDT): each wallet's
            # statements agree with its balance.
            assert len(held) >= 2, held
            for balance in held:
                closing = None
                for month in reversed(months):
                    st = await statement.monthly_statement(s, user.id, month, balance.currency)
                    assert st.opening + st.total_in - st.total_out - st.total_fees == st.closing
                    if closing is not None:
                        assert st.opening == closing
                    closing = st.closing
                assert balance.posted == closing, balance
        # Every exchange's entry balances in each of its currencies.
        unbalanced = await s.execute(
            text(
                "SELECT p.entry_id, p.currency FROM ledger_postings p JOIN ledger_entries e "
                "ON e.id = p.entry_id WHERE e.entry_type = 'fx_exchange' "
                "GROUP BY 1, 2 HAVING sum(p.amount) <> 0"
            )
        )
        assert unbalanced.all() == []
        assert (
            await s.execute(text("SELECT count(*) FROM fx_quotes WHERE status = 'used'"))
        ).scalar_one() == 5
        # Three cash points with a float; 张三 cashed in at one.
        floats = (
            await s.execute(
                text(
                    "SELECT count(*) FROM ledger_accounts WHERE kind = 'agent_float' AND posted > 0"
                )
            )
        ).scalar_one()
        assert floats == 3
        assert (
            await s.execute(text("SELECT count(*) FROM cash_operations WHERE status = 'completed'"))
        ).scalar_one() == 1
        entries = (await s.execute(text("SELECT count(*) FROM ledger_entries"))).scalar_one()
        # The support desk's demo: tickets in several states, ratings, a closed rated chat.
        desk = dict(
            (await s.execute(text("SELECT status, count(*) FROM tickets GROUP BY 1"))).all()
        )
        assert desk.get("resolved", 0) >= 2 and desk.get("waiting", 0) >= 1 and desk.get("new")
        rated = (await s.execute(text("SELECT count(*) FROM support_ratings"))).scalar_one()
        assert rated >= 3
        tickets_before = sum(desk.values())

    await load_demo_data(fresh_db)  # again: nothing new
    async with fresh_db.transaction() as s:
        assert (
            await s.execute(text("SELECT count(*) FROM ledger_entries"))
        ).scalar_one() == entries
        again = (await s.execute(text("SELECT count(*) FROM tickets"))).scalar_one()
        assert again == tickets_before
