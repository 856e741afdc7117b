"""The risk console (issue 15, D2/D3): a rule change needs a second operator (four-eyes), carries a
back-test of the last 30 days, and takes effect only when approved; agents read the queue and the
decision log but cannot change rules; everything is in the audit log."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from qianbao.risk.models import RuleChange, RuleRow
from qianbao.support.console.models import AuditEntry
from tests.integration.test_console import csrf, staff_member
from tests.integration.test_risk_rules import _new_device_login, _send
from tests.support.identity import bearer, e164, last_code
from tests.support.wallet import ready_user


async def _rule(app: FastAPI, code: str) -> RuleRow:
    async with app.state.db.session() as s:
        return await s.get(RuleRow, code)


async def test_a_rule_change_needs_a_second_operator_and_shows_its_backtest(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    # History to back-test on: one held transfer the user said was not theirs, one confirmed.
    phone, _, _ = await ready_user(client, app, minor=1_000_000)
    bob_phone, _, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    denied = (await _send(client, alice, bob_phone, "2000.00")).json()["held"]
    r = await client.post(f"/api/v1/wallet/held/{denied}/no", headers=bearer(alice))
    assert r.status_code == 200
    carol_phone, _, _ = await ready_user(client, app, minor=1_000_000)
    carol = await _new_device_login(client, carol_phone)
    held = (await _send(client, carol, bob_phone, "3000.00")).json()["held"]
    code = await last_code(app, e164(carol_phone))
    r = await client.post(
        f"/api/v1/wallet/held/{held}/yes", json={"code": code}, headers=bearer(carol)
    )
    assert r.status_code == 200, r.text

    first, _ = await staff_member(app, role="supervisor", name="主管甲")
    second, _ = await staff_member(app, role="admin", name="管理员乙")
    agent, _ = await staff_member(app, role="support_agent")
    h1, h2, ha = bearer(first), bearer(second), bearer(agent)

    # Agents see the queue and the rules, but cannot change them.
    page = await client.get("/console/risk", headers=ha)
    assert page.status_code == 200
    assert "2,000.00" in page.text or "2000.00" in page.text
    r = await client.post(
        "/console/risk/rules/new_device_large",
        data={"enabled": "1", "action": "block", "min_amount": "2000", "reason": "x",
              "csrf_token": await csrf(client, ha)},
        headers=ha,
    )  # fmt: skip
    assert r.status_code == 403

    # Propose: block instead of hold from 2,500 yuan (full-width digits from an IME are fine).
    r = await client.post(
        "/console/risk/rules/new_device_large",
        data={"enabled": "1", "action": "block", "min_amount": "２５００",
              "reason": "Fraud wave from new phones", "csrf_token": await csrf(client, h1)},
        headers=h1, follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    async with app.state.db.session() as s:
        change = (await s.execute(select(RuleChange))).scalar_one()
    assert (change.status, change.action, change.min_amount) == ("proposed", "block", 2500)
    # Of the two held transfers (2,000 and 3,000) only the 3,000 one reaches 2,500.
    assert change.backtest["hits"] == 1 and change.backtest["by_action"]["block"] == 1
    assert change.backtest["looked_at"] >= 2 and change.backtest["disputed"] == 0
    rules_page = await client.get("/console/risk/rules", headers=h1)
    assert "Fraud wave from new phones" in rules_page.text
    assert (await _rule(app, "new_device_large")).action == "hold"  # not in force yet

    # The proposer cannot approve; a second proposal for the same rule waits.
    r = await client.post(
        f"/console/risk/changes/{change.id}/approve",
        data={"csrf_token": await csrf(client, h1)}, headers=h1,
    )  # fmt: skip
    assert r.status_code == 403 and "必须由另一位操作员审批" in r.text
    r = await client.post(
        "/console/risk/rules/new_device_large",
        data={"enabled": "1", "action": "step_up", "min_amount": "100", "reason": "other",
              "csrf_token": await csrf(client, h2)},
        headers=h2,
    )  # fmt: skip
    assert r.status_code == 409 and "已有一项修改在等待审批" in r.text
    assert (await _rule(app, "new_device_large")).action == "hold"

    # The second operator approves: in force.
    r = await client.post(
        f"/console/risk/changes/{change.id}/approve",
        data={"csrf_token": await csrf(client, h2)}, headers=h2, follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    rule = await _rule(app, "new_device_large")
    assert (rule.action, rule.min_amount, rule.change_id) == ("block", 2500, change.id)
    r = await _send(client, carol, bob_phone, "2600.00")
    assert r.status_code == 403 and r.json()["code"] == "risk.blocked"
    async with app.state.db.session() as s:
        actions = [
            a.action
            for a in (await s.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
            if a.action.startswith("risk.")
        ]
    assert actions == ["risk.rule_proposed", "risk.rule_applied"]


async def test_the_queue_shows_what_was_held_and_what_users_denied(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, _, _ = await ready_user(client, app, minor=1_000_000)
    bob_phone, _, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    await _send(client, alice, bob_phone, "2345.00")
    agent, _ = await staff_member(app, role="support_agent")
    page = (await client.get("/console/risk", headers=bearer(agent))).text
    waiting = page[page.index('id="risk-waiting"') : page.index('id="risk-denied"')]
    assert "2,345.00" in waiting or "2345.00" in waiting
    decisions = page[page.index('id="risk-decisions"') :]
    assert re.search(r"new device|新设备", decisions, re.IGNORECASE)
