"""Cash agents (B5): an agent asks, the customer confirms with the PIN; the float pays a cash-in
and takes a cash-out, the operator pays the commission as its own leg; cash-outs above the
threshold need tier 2 and the agent's ID check; the customer's limits apply; the float never
goes negative, also when two confirmations race; expired, declined and others' requests move
nothing; the agent tops up the float by bank transfer with its reference; the finder sorts
points by distance from a location or a typed district."""

from __future__ import annotations

import asyncio
import subprocess
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from qianbao.banking import importer
from qianbao.identity.models import User
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.merchants import agents, onboarding
from qianbao.rails.bankfiles.write import camt053
from qianbao.risk.limits import Limit
from qianbao.risk.repository import set_limit
from tests.integration.test_bank_rails import _setup as bank_setup
from tests.integration.test_bank_rails import entry, statement
from tests.integration.test_console import staff_member
from tests.support.cli import run_cli
from tests.support.identity import bearer
from tests.support.merchants import make_merchant
from tests.support.wallet import PIN, key, ready_user

HOURS = [["08:00", "22:00"]] * 7


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def _agent(app, *, float_minor: int = 100_000, name=("徐汇便民点", "Xuhui Cash Point"),
                 where=(Decimal("31.195500"), Decimal("121.437500"))):  # fmt: skip
    shop = await make_merchant(app, name_zh=name[0], name_en=name[1])
    token, staff_id = await staff_member(app, role="merchant_staff")
    async with app.state.db.transaction() as s:
        merchant = await onboarding.get(s, shop.id)
        await onboarding.add_staff(s, merchant, await s.get(User, staff_id))
        agent = await agents.register(
            s, app.state.settings, merchant, city=("上海", "Shanghai"), district=("徐汇区", "Xuhui"),
            address=("漕溪北路 1 号", "1 Caoxi North Road"), latitude=where[0], longitude=where[1],
            hours=HOURS,
        )  # fmt: skip
        if float_minor:
            ledger = await Ledger.of_session(s)
            source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
            await ledger.post(
                transfer(f"float-{shop.id}", debit_account_id=source,
                         credit_account_id=agent.float_account_id, amount=float_minor,
                         currency="CNY")
            )  # fmt: skip
    return shop, token


async def _float(client, token) -> str:
    r = await client.get("/api/v1/agent", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()["float"]["amount"]


async def _balance(client, token) -> str:
    body = (await client.get("/api/v1/wallet", headers=bearer(token))).json()
    return next(b["available"]["amount"] for b in body["balances"] if b["currency"] == "CNY")


async def _ask(client, agent_token, phone, amount, kind="cash_in", **extra):
    return await client.post(
        "/api/v1/agent/requests",
        json={"kind": kind, "customer": phone, "amount": amount, **extra},
        headers={**bearer(agent_token), **key()},
    )


async def _confirm(client, token, op_id, pin=PIN):
    return await client.post(
        f"/api/v1/wallet/cash/{op_id}/confirm", json={"pin": pin}, headers=bearer(token)
    )


async def _commission_account(app) -> int:
    async with app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        account = await system_account_id(ledger.conn, "equity", "CNY", "agent-commission")
        return int(await ledger.conn.fetchval("SELECT posted FROM ledger_accounts WHERE id = $1",
                                              account))  # fmt: skip


async def test_cash_in_and_out_with_the_pin_and_the_commission_leg(client, app):
    _, agent_token = await _agent(app)
    phone, token, _ = await ready_user(client, app, minor=0)
    assert await _float(client, agent_token) == "1000.00"

    r = await _ask(client, agent_token, phone, "500.00")
    assert r.status_code == 201, r.text
    op = r.json()
    assert op["status"] == "pending" and op["commission"]["amount"] == "1.50"  # 0.3 %
    waiting = (await client.get("/api/v1/wallet/cash", headers=bearer(token))).json()
    assert [w["id"] for w in waiting] == [op["id"]]
    assert await _balance(client, token) == "0.00"  # nothing moves before the PIN

    r = await _confirm(client, token, op["id"], pin="000000")
    assert r.json()["code"] == "identity.wrong_pin"
    r = await _confirm(client, token, op["id"])
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    again = await _confirm(client, token, op["id"])  # a second tap: done once
    assert again.status_code == 200 and again.json()["transaction_id"] == r.json()["transaction_id"]
    assert await _balance(client, token) == "500.00"
    assert await _float(client, agent_token) == "501.50"  # 1000 − 500 + 1.50 commission
    assert await _commission_account(app) == -150
    tx = (
        await client.get(f"/api/v1/wallet/transactions/{r.json()['transaction_id']}",
                         headers=bearer(token))
    ).json()  # fmt: skip
    assert (tx["kind"], tx["direction"], tx["amount"]["amount"]) == ("topup", "in", "500.00")

    r = await _ask(client, agent_token, phone, "200.00", kind="cash_out")
    assert r.status_code == 201, r.text
    assert r.json()["commission"]["amount"] == "1.00"  # 0.5 %
    assert (await _confirm(client, token, r.json()["id"])).status_code == 200
    assert await _balance(client, token) == "300.00"
    assert await _float(client, agent_token) == "702.50"  # + 200 + 1.00
    async with app.state.db.transaction() as s:
        bad = await s.execute(text(
            "SELECT p.entry_id FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
            "WHERE e.entry_type IN ('cash_in', 'cash_out') GROUP BY 1 HAVING sum(p.amount) <> 0"
        ))  # fmt: skip
        assert bad.all() == []


async def test_refusals_name_the_problem_and_move_nothing(client, app):
    _, agent_token = await _agent(app, float_minor=10_000)
    phone, token, _ = await ready_user(client, app, minor=500_000)
    other_phone, other, _ = await ready_user(client, app)
    cases = [
        (("13000000000", "10.00"), "cash.customer_not_found"),
        ((phone, "10.001"), "money.too_many_decimals"),
        ((phone, "１０"), "money.invalid_amount"),
        ((phone, "150.00"), "cash.float_insufficient"),  # more than the float
        ((phone, "2000.01", "cash_out"), "cash.tier2_required"),  # tier 0 above the threshold
    ]
    for args, code in cases:
        r = await _ask(client, agent_token, *args)
        assert r.status_code >= 400 and r.json()["code"] == code, (args, r.text)
    # Another customer's request is not yours; an expired one moves nothing.
    op = (await _ask(client, agent_token, phone, "50.00")).json()
    r = await _confirm(client, other, op["id"])
    assert r.status_code == 404 and r.json()["code"] == "cash.request_not_found"
    app.state.clock.advance(minutes=11)
    r = await _confirm(client, token, op["id"])
    assert r.json()["code"] == "cash.request_expired"
    op = (await _ask(client, agent_token, phone, "50.00")).json()
    r = await client.post(f"/api/v1/wallet/cash/{op['id']}/decline", headers=bearer(token))
    assert r.json()["status"] == "declined"
    assert (await _confirm(client, token, op["id"])).json()["code"] == "cash.request_closed"
    assert await _balance(client, token) == "5000.00"
    assert await _float(client, agent_token) == "100.00"
    # Staff of a merchant that is not an agent.
    await make_merchant(app)
    plain, _ = await staff_member(app, role="merchant_staff")
    r = await client.get("/api/v1/agent", headers=bearer(plain))
    assert r.status_code in (403, 404)
    del other_phone


async def test_large_cash_out_needs_tier_2_and_the_id_check_and_the_limits_apply(client, app):
    _, agent_token = await _agent(app, float_minor=0)
    phone, token, user_id = await ready_user(client, app, minor=1_000_000, tier=2)
    r = await _ask(client, agent_token, phone, "2500.00", kind="cash_out")
    assert r.json()["code"] == "cash.id_check_required"
    r = await _ask(client, agent_token, phone, "2500.00", kind="cash_out", id_checked=True)
    assert r.status_code == 201, r.text
    assert (await _confirm(client, token, r.json()["id"])).status_code == 200
    # The customer's withdrawal limits apply to cash-outs.
    async with app.state.db.transaction() as s:
        await set_limit(s, Limit(2, "withdrawal", "CNY", 300_000, 300_000, 5, 1_000_000, 50))
    r = await _ask(client, agent_token, phone, "600.00", kind="cash_out")
    r = await _confirm(client, token, r.json()["id"])
    assert r.json()["code"] == "risk.limit_exceeded", r.text
    assert await _balance(client, token) == "7500.00"
    del user_id


async def test_two_cash_ins_racing_for_the_float_pay_one(client, app):
    _, agent_token = await _agent(app, float_minor=60_000)
    phone, token, _ = await ready_user(client, app)
    first = (await _ask(client, agent_token, phone, "500.00")).json()
    second = (await _ask(client, agent_token, phone, "500.00")).json()
    results = await asyncio.gather(
        _confirm(client, token, first["id"]), _confirm(client, token, second["id"])
    )
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200 and codes[1] == 409, [r.text for r in results]
    loser = next(r for r in results if r.status_code != 200)
    assert loser.json()["code"] == "cash.float_insufficient"
    assert await _balance(client, token) == "500.00"
    assert await _float(client, agent_token) == "101.50"


async def test_a_bank_transfer_with_the_agents_reference_tops_up_the_float(client, app):
    await bank_setup(app)
    _, agent_token = await _agent(app, float_minor=0)
    reference = (await client.get("/api/v1/agent", headers=bearer(agent_token))).json()[
        "bank_reference"
    ]
    st = statement("S-AG-1", 0, [entry(1, 20_000_00, f"{reference} 备用金")])
    data = camt053(st, message_id="MAG1", created_at=st.created_at, account_name="钱包支付",
                   bic="ICBKCNBJ")  # fmt: skip
    async with app.state.db.transaction() as s:
        result = await importer.import_file(
            s, app.state.settings, data, filename="s.xml", source="command"
        )
    assert result.booked == 1 and result.suspense == 0, result
    assert await _float(client, agent_token) == "20000.00"


async def test_the_finder_sorts_by_distance(client, app):
    await _agent(app, name=("浦东便民点", "Pudong Point"),
                 where=(Decimal("31.239700"), Decimal("121.499800")))  # fmt: skip
    await _agent(app, name=("徐汇便民点", "Xuhui Point"))
    r = await client.get("/api/v1/cash-points", params={"district": "ｘｕｈｕｉ"})
    assert r.status_code == 200, r.text
    names = [p["name_en"] for p in r.json()]
    assert names == ["Xuhui Point", "Pudong Point"]
    assert float(r.json()[0]["distance_km"]) < float(r.json()[1]["distance_km"])
    r = await client.get("/api/v1/cash-points", params={"lat": "31.2397", "lon": "121.4998"})
    assert next(p["name_en"] for p in r.json()) == "Pudong Point"
    r = await client.get("/api/v1/cash-points", params={"lat": "91", "lon": "121"})
    assert r.status_code == 422 and r.json()["code"] == "cash.location_invalid"
    r = await client.get("/api/v1/cash-points", params={"district": "Atlantis"})
    assert r.status_code == 422 and r.json()["code"] == "cash.district_unknown"


def _agents_cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(url, tmp_path, "agents", *args)


async def test_an_operator_makes_a_merchant_a_cash_agent_from_the_command_line(
    client, app, fresh_db_url, tmp_path
):
    shop = await make_merchant(app, name_zh="朝阳便民点", name_en="Chaoyang Point")
    base = ["--merchant", shop.code, "--address-zh", "建国路 1 号", "--address-en", "1 Jianguo Rd"]
    bad = _agents_cli(fresh_db_url, tmp_path, "add", *base, "--district", "亚特兰蒂斯",
                      "--lat", "39.92", "--lon", "116.44")  # fmt: skip
    assert bad.returncode != 0 and "district" in bad.stderr
    bad = _agents_cli(fresh_db_url, tmp_path, "add", *base, "--district", "朝阳",
                      "--lat", "３９.９", "--lon", "116.44")  # fmt: skip
    assert bad.returncode != 0 and "--lat" in bad.stderr
    done = _agents_cli(fresh_db_url, tmp_path, "add", *base, "--district", "朝阳",
                       "--lat", "39.9215", "--lon", "116.4434",
                       "--hours", "09:00-21:00,09:00-21:00,09:00-21:00,09:00-21:00,"
                                  "09:00-21:00,10:00-18:00,closed")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{shop.code} is a cash agent" in done.stdout
    listed = _agents_cli(fresh_db_url, tmp_path, "list")
    assert shop.code in listed.stdout and "0.00 CNY" in listed.stdout
    assert _agents_cli(fresh_db_url, tmp_path, "pause", shop.code).returncode == 0
    r = await client.get("/api/v1/cash-points", params={"district": "朝阳"})
    assert all(p["code"] != shop.code for p in r.json())  # paused: not listed
    assert _agents_cli(fresh_db_url, tmp_path, "pause", shop.code, "--resume").returncode == 0
    r = await client.get("/api/v1/cash-points", params={"district": "朝阳"})
    point = next(p for p in r.json() if p["code"] == shop.code)
    assert point["hours"][6] is None and point["district_en"] == "Chaoyang"
