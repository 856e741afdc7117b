"""The finance console (F2): money settings change by four-eyes. One operator proposes (the value
before and after is kept), another approves — the proposer cannot — and the approval applies the
value and writes the audit log in the same transaction; a rejection changes nothing; one change
per setting waits at a time; a proposal the setting has moved away from is refused; of two
approvals at once exactly one applies. And the wallet really uses what was approved: the
withdrawal fee and the holiday calendar (arrival date)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from qianbao.finance.models import SettingChange
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.moneyconf.models import CalendarYear, FeePlan
from qianbao.risk.limits import Limit
from qianbao.risk.repository import find_limit, set_limit
from qianbao.support.console.models import AuditEntry
from tests.integration.test_console import staff_member
from tests.support.identity import bearer
from tests.support.wallet import CARD_OK, bind_card, ready_user

CARD_FEE = {"fixed": "2.00", "percent": "0.2", "minimum": "2.00", "maximum": "30.00"}


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def _propose(client, token, target, values, reason="新的收费标准 2027"):
    return await client.post(
        "/api/v1/finance/changes",
        json={"target": target, "values": values, "reason": reason},
        headers=bearer(token),
    )


async def _decide(client, token, change_id, decision="approve"):
    return await client.post(
        f"/api/v1/finance/changes/{change_id}/{decision}", headers=bearer(token)
    )


async def _quote(client, token, card, amount="100.00"):
    r = await client.post(
        "/api/v1/wallet/withdrawals/quote",
        json={"card_id": card, "amount": amount, "currency": "CNY"},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    return r.json()


async def _changes(app) -> list[SettingChange]:
    async with app.state.db.transaction() as s:
        return list((await s.execute(select(SettingChange))).scalars())


async def _audit(app, action: str) -> list[AuditEntry]:
    async with app.state.db.transaction() as s:
        rows = await s.execute(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows.scalars())


async def test_a_fee_change_is_proposed_approved_by_another_and_charged(client, app):
    maker, maker_id = await staff_member(app, role="supervisor")
    checker, checker_id = await staff_member(app, role="admin")
    phone, token, _ = await ready_user(client, app, minor=100_000)
    card = await bind_card(client, app, phone, token, CARD_OK)
    assert (await _quote(client, token, card))["fee"]["amount"] == "1.10"  # the settings' fee

    r = await _propose(client, maker, "fee:withdrawal:card", CARD_FEE)
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["status"] == "pending" and change["before"] == {
        "currency": "CNY",
        "fixed": {"amount": "1.00", "currency": "CNY"},
        "percent": "0.1",
        "minimum": {"amount": "1.00", "currency": "CNY"},
        "maximum": {"amount": "25.00", "currency": "CNY"},
    }
    assert change["after"]["fixed"] == {"amount": "2.00", "currency": "CNY"}
    assert change["after"]["percent"] == "0.2"
    # Proposed is not in force.
    assert (await _quote(client, token, card))["fee"]["amount"] == "1.10"
    listed = (await client.get("/api/v1/finance/settings?kind=fee", headers=bearer(checker))).json()
    card_row = next(x for x in listed if x["target"] == "fee:withdrawal:card")
    assert card_row["pending_change"] == change["id"]

    # The proposer cannot approve it; nothing changes.
    r = await _decide(client, maker, change["id"])
    assert r.status_code == 403 and r.json()["code"] == "finance.same_approver", r.text
    assert (await _quote(client, token, card))["fee"]["amount"] == "1.10"

    r = await _decide(client, checker, change["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["decided_by"] == str(checker_id)
    # 2.00 + 0.2 % of 100.00 (0.20) = 2.20; the withdrawal itself is charged it too.
    quote = await _quote(client, token, card)
    assert quote["fee"]["amount"] == "2.20" and quote["total"]["amount"] == "102.20"
    assert (await _quote(client, token, card, "20000.00"))["fee"]["amount"] == "30.00"

    async with app.state.db.transaction() as s:
        plan = await s.get(FeePlan, "withdrawal:card")
        assert (plan.fixed, plan.minimum, plan.maximum, str(plan.percent)) == (
            200, 200, 3000, "0.2000"
        )  # fmt: skip
    [entry] = await _audit(app, "finance.change_approved")
    assert entry.actor_id == checker_id and entry.object_id == change["id"]
    assert '"fixed":100' in entry.details["before"] and '"fixed":200' in entry.details["after"]
    [proposed] = await _audit(app, "finance.change_proposed")
    assert proposed.actor_id == maker_id

    # Deciding again: already decided.
    r = await _decide(client, checker, change["id"], "reject")
    assert r.status_code == 409 and r.json()["code"] == "finance.change_decided"


async def test_reject_one_pending_per_setting_and_refusals_change_nothing(client, app):
    maker, _ = await staff_member(app, role="supervisor")
    checker, _ = await staff_member(app, role="admin")
    agent, _ = await staff_member(app, role="support_agent")

    r = await _propose(client, agent, "fee:withdrawal:card", CARD_FEE)
    assert r.status_code == 403 and r.json()["code"] == "finance.staff_only"
    r = await _propose(client, maker, "fee:withdrawal:card", {**CARD_FEE, "fixed": "1.001"})
    assert r.status_code == 422 and r.json()["code"] == "money.too_many_decimals"
    r = await _propose(client, maker, "fee:withdrawal:card", {**CARD_FEE, "minimum": "40.00"})
    assert r.status_code == 422 and r.json()["code"] == "finance.invalid"
    r = await _propose(client, maker, "fee:withdrawal:bitcoin", CARD_FEE)
    assert r.status_code == 404 and r.json()["code"] == "finance.unknown_setting"
    r = await _propose(client, maker, "fee:withdrawal:card", CARD_FEE, reason="  ")
    assert r.status_code == 422 and r.json()["code"] == "finance.invalid"
    same = {"fixed": "1.00", "percent": "0.1", "minimum": "1.00", "maximum": "25.00"}
    r = await _propose(client, maker, "fee:withdrawal:card", same)
    assert r.status_code == 422 and r.json()["code"] == "finance.no_change"
    assert await _changes(app) == []

    first = (await _propose(client, maker, "fee:withdrawal:card", CARD_FEE)).json()
    r = await _propose(client, checker, "fee:withdrawal:card", {**CARD_FEE, "fixed": "3.00"})
    assert r.status_code == 409 and r.json()["code"] == "finance.change_pending"

    r = await _decide(client, checker, first["id"], "reject")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    async with app.state.db.transaction() as s:
        assert await s.get(FeePlan, "withdrawal:card") is None
    assert len(await _audit(app, "finance.change_rejected")) == 1
    # Once decided, the setting takes a new proposal.
    r = await _propose(client, checker, "fee:withdrawal:card", {**CARD_FEE, "fixed": "3.00"})
    assert r.status_code == 201, r.text
    pending = (
        await client.get("/api/v1/finance/changes?status=pending", headers=bearer(maker))
    ).json()
    assert [c["id"] for c in pending] == [r.json()["id"]]


async def test_a_stale_proposal_is_refused(client, app):
    maker, _ = await staff_member(app, role="supervisor")
    checker, _ = await staff_member(app, role="admin")
    values = {
        "single_max": "800.00", "daily_max": "1600.00", "daily_count": "5",
        "monthly_max": "9000.00", "monthly_count": "40",
    }  # fmt: skip
    r = await _propose(client, maker, "limit:0:transfer:CNY", values)
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["after"]["single_max"] == {"amount": "800.00", "currency": "CNY"}
    # Someone changes the row by another way in the meantime.
    async with app.state.db.transaction() as s:
        now = await find_limit(s, tier=0, channel="transfer", currency="CNY")
        assert now is not None
        moved = Limit(**{**vars(now), "single_max": now.single_max + 1})
        await set_limit(s, moved)
    r = await _decide(client, checker, change["id"])
    assert r.status_code == 409 and r.json()["code"] == "finance.stale", r.text
    async with app.state.db.transaction() as s:
        assert await find_limit(s, tier=0, channel="transfer", currency="CNY") == moved
    [row] = await _changes(app)
    assert row.status == "pending"  # to be rejected and proposed again
    assert await _audit(app, "finance.change_approved") == []


async def test_two_approvals_at_once_exactly_one_applies(client, app):
    maker, _ = await staff_member(app, role="supervisor")
    a, _ = await staff_member(app, role="admin")
    b, _ = await staff_member(app, role="supervisor")
    r = await _propose(client, maker, "currency:USD", {"enabled": True, "review_above": "800.00"})
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["before"] == {  # USD is not offered by default
        "enabled": False, "review_above": {"amount": "5000.00", "currency": "USD"}
    }  # fmt: skip
    results = await asyncio.gather(
        _decide(client, a, change["id"]), _decide(client, b, change["id"])
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["code"] == "finance.change_decided"
    assert len(await _audit(app, "finance.change_approved")) == 1
    listed = (await client.get("/api/v1/finance/settings?kind=currency", headers=bearer(a))).json()
    usd = next(x for x in listed if x["target"] == "currency:USD")
    assert usd["value"] == {
        "enabled": True, "review_above": {"amount": "800.00", "currency": "USD"}
    }  # fmt: skip


async def test_an_approved_holiday_moves_the_arrival_date(client, app):
    # Monday 1 March 2027, 10:00 in China: a card withdrawal arrives the next business day.
    app.state.clock.freeze(datetime(2027, 3, 1, 10, 0, tzinfo=LOCAL_TZ))
    maker, _ = await staff_member(app, role="supervisor")
    checker, _ = await staff_member(app, role="admin")
    phone, token, _ = await ready_user(client, app, minor=100_000)
    card = await bind_card(client, app, phone, token, CARD_OK)
    assert (await _quote(client, token, card))["expected_arrival"] == "2027-03-02"

    r = await _propose(
        client, maker, "calendar:2027",
        {"holidays": "2027-01-01\n2027-03-02, 2027-03-03", "workdays": "2027-02-20"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["before"] == {"holidays": [], "workdays": []}
    r = await _propose(client, checker, "calendar:2027", {"workdays": "2027-03-04"})
    assert r.status_code == 409 and r.json()["code"] == "finance.change_pending"
    pending = (
        await client.get("/api/v1/finance/changes?status=pending", headers=bearer(checker))
    ).json()
    r = await _decide(client, checker, pending[0]["id"])
    assert r.status_code == 200, r.text
    assert (await _quote(client, token, card))["expected_arrival"] == "2027-03-04"
    async with app.state.db.transaction() as s:
        row = await s.get(CalendarYear, 2027)
        assert row.holidays == [date(2027, 1, 1), date(2027, 3, 2), date(2027, 3, 3)]
        assert row.workdays == [date(2027, 2, 20)]
    # The settings' 2026 list still applies to 2026.
    listed = (
        await client.get("/api/v1/finance/settings?kind=calendar", headers=bearer(checker))
    ).json()
    y2026 = next(x for x in listed if x["target"] == "calendar:2026")
    assert "2026-10-01" in y2026["value"]["holidays"]


async def test_receiving_accounts_are_added_and_deactivated_by_four_eyes(client, app):
    maker, _ = await staff_member(app, role="supervisor")
    checker, _ = await staff_member(app, role="admin")
    new = {
        "holder_name": "钱包支付科技有限公司", "bank_name": "中国银行", "branch": "上海分行",
        "account_number": "6216 6100 0001 2345 678", "bic": "BKCHCNBJ", "currency": "CNY",
    }  # fmt: skip
    r = await _propose(client, maker, "account:BOC-F2", new)
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["before"] is None and change["after"]["account_number"] == "•••• 5678"
    assert (await _decide(client, checker, change["id"])).status_code == 200
    customer = (await ready_user(client, app))[1]
    shown = (await client.get("/api/v1/wallet/bank-transfer", headers=bearer(customer))).json()
    assert [a["account_number"] for a in shown["accounts"]] == ["6216610000012345678"]

    r = await _propose(client, checker, "account:BOC-F2", {"active": False})
    assert r.status_code == 201, r.text
    assert r.json()["after"]["active"] is False and r.json()["before"]["active"] is True
    assert (await _decide(client, maker, r.json()["id"])).status_code == 200
    shown = (await client.get("/api/v1/wallet/bank-transfer", headers=bearer(customer))).json()
    assert shown["accounts"] == []
    [entry, *_] = await _audit(app, "finance.change_approved")
    assert "6216610000012345678" not in str(entry.details)


async def test_every_finance_page_shows_for_operators_only(client, app):
    sup, _ = await staff_member(app, role="supervisor")
    agent, _ = await staff_member(app, role="support_agent")
    await _propose(client, sup, "account:BOC-PAGE", {
        "holder_name": "钱包", "bank_name": "中国银行", "account_number": "62166100000199887766",
    })  # fmt: skip
    for path in ("", "/fees", "/limits", "/currencies", "/accounts", "/calendar"):
        r = await client.get(
            f"/ops/finance{path}", headers={**bearer(sup), "Accept-Language": "en"}
        )
        assert r.status_code == 200, (path, r.text[:500])
        assert "62166100000199887766" not in r.text
    r = await client.get("/ops/finance", headers={**bearer(agent), "Accept-Language": "en"})
    assert r.status_code == 403
