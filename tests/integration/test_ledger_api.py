"""The operator read API of the ledger, and the worker's hold sweeper."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from qianbao.ledger import CreateHold, Ledger, transfer
from qianbao.settings import Settings
from qianbao.tasks import register_tasks
from qianbao.worker import Worker, registry
from tests.conftest import SavepointDatabase, base_settings
from tests.integration.ledger_helpers import fund, key, open_wallet

TOKEN = "operator-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings() -> Settings:
    return base_settings(admin={"api_token": TOKEN})


async def _setup(tx_db: SavepointDatabase):
    async with tx_db.session() as session:
        ledger = await Ledger.of_session(session)
        a = await open_wallet(ledger.conn)
        b = await open_wallet(ledger.conn)
        await fund(ledger.conn, a, 10_000)
        k = key()
        entry = await ledger.post(
            transfer(
                k,
                debit_account_id=a,
                credit_account_id=b,
                amount=1_234,
                currency="CNY",
                metadata={"note": "rent"},
            )
        )
        hold = await ledger.hold(CreateHold(key(), a, b, 500, "CNY"))
        await session.commit()
    return a, b, k, entry, hold


async def test_operator_api_needs_the_token(client: httpx.AsyncClient):
    r = await client.get("/api/v1/ledger/accounts/1")
    assert r.status_code == 401
    assert r.json()["code"] == "auth.operator_required"
    r = await client.get("/api/v1/ledger/accounts/1", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


async def test_operator_reads_accounts_balances_statements_entries_and_holds(
    client: httpx.AsyncClient, tx_db: SavepointDatabase
):
    a, b, k, entry, hold = await _setup(tx_db)
    r = await client.get(f"/api/v1/ledger/accounts/{a}", headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    assert (body["posted"], body["pending_out"], body["available"], body["currency"]) == (
        "87.66",
        "5.00",
        "82.66",
        "CNY",
    )
    r = await client.get(f"/api/v1/ledger/accounts/{a}/balances", headers=AUTH)
    assert r.json()["available"] == "82.66"
    r = await client.get(f"/api/v1/ledger/accounts/{a}/statement?limit=1", headers=AUTH)
    page = r.json()
    assert [line["amount"] for line in page["lines"]] == ["-12.34"]
    assert page["lines"][0]["balance_after"] == "87.66"
    r = await client.get(
        f"/api/v1/ledger/accounts/{a}/statement?cursor={page['next_cursor']}", headers=AUTH
    )
    assert [line["amount"] for line in r.json()["lines"]] == ["100.00"]
    r = await client.get(f"/api/v1/ledger/entries/{entry.entry_id}", headers=AUTH)
    assert r.json()["postings"] == [
        {"account_id": a, "currency": "CNY", "amount": "-12.34", "balance_after": "87.66"},
        {"account_id": b, "currency": "CNY", "amount": "12.34", "balance_after": "12.34"},
    ]
    assert r.json()["metadata"] == {"note": "rent"}
    r = await client.get(f"/api/v1/ledger/entries/by-key/{k}", headers=AUTH)
    assert r.json()["id"] == str(entry.entry_id)
    r = await client.get(f"/api/v1/ledger/holds/{hold.hold_id}", headers=AUTH)
    assert (r.json()["status"], r.json()["amount"]) == ("pending", "5.00")


async def test_operator_api_errors_are_problems(client: httpx.AsyncClient):
    r = await client.get(
        "/api/v1/ledger/accounts/999999999", headers={**AUTH, "Accept-Language": "zh-CN"}
    )
    assert r.status_code == 404
    assert r.json()["code"] == "ledger.account_not_found"
    assert r.json()["title"] == "该账户不存在。"
    r = await client.get("/api/v1/ledger/accounts/1/statement?cursor=garbage", headers=AUTH)
    assert r.status_code == 422
    r = await client.get("/api/v1/ledger/entries/by-key/nope", headers=AUTH)
    assert r.json()["code"] == "ledger.entry_not_found"


async def test_the_worker_sweeps_expired_holds(fresh_db):
    clock = fresh_db.clock
    register_tasks()
    assert "ledger.expire_holds" in registry.periodic_tasks
    async with fresh_db.transaction() as session:
        ledger = await Ledger.of_session(session)
        a = await open_wallet(ledger.conn)
        b = await open_wallet(ledger.conn)
        await fund(ledger.conn, a, 1_000)
        past = clock.now() - timedelta(seconds=1)
        held = await ledger.hold(CreateHold(key(), a, b, 400, "CNY", expires_at=past))
        kept = await ledger.hold(
            CreateHold(key(), a, b, 100, "CNY", expires_at=past + timedelta(hours=1))
        )
    ran = await Worker(fresh_db).run_periodic(force=True)
    assert "ledger.expire_holds" in ran
    async with fresh_db.session() as session:
        ledger = await Ledger.of_session(session)
        assert (await ledger.hold_info(held.hold_id))["status"] == "expired"
        assert (await ledger.hold_info(kept.hold_id))["status"] == "pending"
