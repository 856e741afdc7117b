"""USDT on chains (issue 19): addresses checked per network (TRON base58check, Ethereum EIP-55);
a deposit from the development chain credited once after its confirmations as the clock moves —
reported again on every poll, reported by the user, and by two watchers at once; withdrawals
with the network's fee, a transaction hash and the confirmations; and the refusals (7 decimals,
the wrong network, a bad checksum, not enough money, a replayed key) that change no balance."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from qianbao.demo import load_demo_data
from qianbao.identity import accounts as id_accounts
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger, transfer
from qianbao.ledger import accounts as ledger_accounts
from qianbao.rails import chain_factory
from qianbao.rails.chain_addresses import (
    AddressChecksum,
    AddressInvalid,
    AddressWrongNetwork,
    TxidInvalid,
    parse_address,
    parse_txid,
)
from qianbao.rails.chain_dev import FAILING
from qianbao.wallet import chain_watch
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.models_chain import ChainDeposit, ChainWithdrawal
from tests.conftest import base_settings
from tests.integration.test_wallet_demo import demo_env  # noqa: F401  (a fixture)
from tests.support.cli import run_cli
from tests.support.identity import bearer, deliver, e164
from tests.support.wallet import PIN, key, ready_user

START = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)  # on a block of both networks
EIP55 = [  # the vectors of EIP-55 itself
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
TRON_USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"  # USDT's TRC-20 contract on TRON
TRON_OTHER = "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"


@pytest.fixture
def settings(tmp_path):
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        email={"backend": "file", "outbox_dir": tmp_path / "mail"},
        payments={
            "payout_outbox_path": tmp_path / "payouts.jsonl",
            "sandbox_secret": "test-sandbox-signing-key",
            "currencies": ["CNY", "USDT"],
        },
    )


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def _watch(app: FastAPI) -> list[chain_watch.Watched]:
    async with app.state.db.transaction() as s:
        return await chain_watch.watch(s, app.state.settings)


async def _blocks(app: FastAPI, n: int, network: str = "TRC20") -> None:
    """``n`` blocks pass (the development chain makes them as the clock moves)."""
    app.state.clock.advance(seconds=n * app.state.settings.chain.dev_block_seconds[network])


async def _usdt(client: httpx.AsyncClient, token: str) -> tuple[str, str]:
    body = (await client.get("/api/v1/wallet", headers=bearer(token))).json()
    found = next((b for b in body["balances"] if b["currency"] == "USDT"), None)
    if found is None:
        return "0.000000", "0.000000"
    return found["available"]["amount"], found["pending"]["amount"]


async def _posted(app: FastAPI, kind: str, code: str = "default") -> int:
    async with app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        account_id = await ledger_accounts.system_account_id(ledger.conn, kind, "USDT", code)
        return int(
            await ledger.conn.fetchval(
                "SELECT posted FROM ledger_accounts WHERE id = $1", account_id
            )
        )


async def _fund_usdt(app: FastAPI, phone: str, minor: int) -> None:
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_phone(s, e164(phone))
        wallet = await wallet_account(s, user.id, "USDT")
        ledger = await Ledger.of_session(s)
        source = await ledger_accounts.system_account_id(ledger.conn, "equity", "USDT", "opening")
        await ledger.post(
            transfer(
                f"fund-usdt-{user.id}",
                debit_account_id=source,
                credit_account_id=wallet.id,
                amount=minor,
                currency="USDT",
            )
        )


async def _deposits(client: httpx.AsyncClient, token: str) -> list[dict]:
    r = await client.get("/api/v1/wallet/chain/deposits", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def _flip(address: str) -> str:
    """The address with the case of its last hex letter changed."""
    i = max(i for i, c in enumerate(address) if c in "abcdefABCDEF" and i > 1)
    return address[:i] + address[i].swapcase() + address[i + 1 :]


# -- addresses -----------------------------------------------------------------------------------
def test_addresses_are_checked_per_network():
    for address in EIP55:
        assert parse_address("ERC20", address) == address
        assert parse_address("ERC20", address.lower()) == address  # no checksum: accepted
        assert parse_address("ERC20", "0x" + address[2:].upper()) == address
        with pytest.raises(AddressChecksum):  # one letter's case changed: a typing mistake
            parse_address("ERC20", _flip(address))
        with pytest.raises(AddressWrongNetwork) as wrong:
            parse_address("TRC20", address)
        assert wrong.value.params == {"network": "TRC-20", "other": "ERC-20"}
    for address in (TRON_USDT, TRON_OTHER):
        assert parse_address("TRC20", f"  {address}\n") == address
        with pytest.raises(AddressWrongNetwork) as wrong:
            parse_address("ERC20", address)
        assert wrong.value.params == {"network": "ERC-20", "other": "TRC-20"}
    with pytest.raises(AddressChecksum):
        parse_address("TRC20", TRON_USDT[:-1] + ("u" if TRON_USDT[-1] != "u" else "v"))
    for garbage in (
        "",
        "hello",
        TRON_USDT[:-1],  # 33 characters
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6０",  # a full-width digit
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",  # 39 hex digits
        "0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    ):
        for network in ("TRC20", "ERC20"):
            with pytest.raises(AddressInvalid):
                parse_address(network, garbage)
    txid = "ab" * 32
    assert parse_txid("0x" + txid.upper()) == txid
    for bad in ("ab" * 31, "zz" * 32, "０" * 64):
        with pytest.raises(TxidInvalid):
            parse_txid(bad)


def test_the_development_chain_is_refused_in_production():
    assert chain_factory.backend(base_settings(environment="production")) == "off"
    assert chain_factory.backend(base_settings()) == "dev"
    with pytest.raises(RuntimeError, match="refused in production"):
        chain_factory.backend(base_settings(environment="production", chain={"backend": "dev"}))
    assert not chain_factory.dev_active(base_settings(chain={"backend": "off"}))


# -- deposits ------------------------------------------------------------------------------------
async def test_a_deposit_is_credited_once_after_its_confirmations(client, app):
    app.state.clock.freeze(START)
    _, token, _ = await ready_user(client, app)
    r = await client.get("/api/v1/wallet/chain/networks", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert [
        (n["network"], n["confirmations"], n["withdrawal_fee"]["amount"]) for n in r.json()
    ] == [
        ("TRC20", 20, "1.000000"),
        ("ERC20", 5, "5.000000"),
    ]
    r = await client.get("/api/v1/wallet/chain/networks/trc-20/address", headers=bearer(token))
    assert r.status_code == 200, r.text
    address = r.json()["address"]
    assert parse_address("TRC20", address) == address and "TRC-20" in r.json()["warning"]
    again = await client.get("/api/v1/wallet/chain/networks/TRC20/address", headers=bearer(token))
    assert again.json()["address"] == address  # always the same

    r = await client.post(
        "/api/v1/wallet/chain/dev/send",
        json={"network": "TRC20", "amount": "25.5"},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    txid = r.json()["txid"]
    assert re.fullmatch("[0-9a-f]{64}", txid) and r.json()["address"] == address

    assert (await _watch(app))[0].seen == 0  # not in a block yet
    await _blocks(app, 1)
    assert (await _watch(app))[0].seen == 1
    [d] = await _deposits(client, token)
    assert (d["status"], d["confirmations"], d["needed"], d["amount"]["amount"]) == (
        "pending", 1, 20, "25.500000",
    )  # fmt: skip
    assert await _usdt(client, token) == ("0.000000", "0.000000")
    for _ in range(18):
        await _blocks(app, 1)
        await _watch(app)  # reads the last blocks again: the same deposit is reported again
    [d] = await _deposits(client, token)
    assert (d["status"], d["confirmations"]) == ("pending", 19)
    assert await _usdt(client, token) == ("0.000000", "0.000000")
    # The user reports it too: known already, nothing changes.
    r = await client.post(
        "/api/v1/wallet/chain/deposits",
        json={"network": "TRC20", "txid": txid},
        headers=bearer(token),
    )
    assert r.status_code == 409 and r.json()["code"] == "chain.deposit_already_seen", r.text
    assert r.headers["content-type"].startswith("application/problem+json")

    await _blocks(app, 1)
    assert [w.credited for w in await _watch(app)] == [1, 0]
    assert await _usdt(client, token) == ("25.500000", "0.000000")
    for _ in range(3):
        await _blocks(app, 1)
        assert [w.credited for w in await _watch(app)] == [0, 0]
    assert await _usdt(client, token) == ("25.500000", "0.000000")
    [d] = await _deposits(client, token)
    assert d["status"] == "credited" and d["credited_at"]
    assert await _posted(app, "bank_clearing", "chain-trc20") == -25_500_000
    async with app.state.db.transaction() as s:
        row = await s.get(WalletTransaction, d["transaction_id"])
        assert (row.kind, row.direction, row.status, row.amount, row.balance_after) == (
            "topup", "in", "completed", 25_500_000, 25_500_000,
        )  # fmt: skip
        assert row.details["txid"] == txid and row.details["network"] == "TRC20"
        entries = await s.scalar(
            text("SELECT count(*) FROM ledger_commands WHERE key LIKE 'chain-deposit:%'")
        )
        assert entries == 1
    # The user is told (in-app).
    await deliver(app)
    inbox = (await client.get("/api/v1/me/notifications", headers=bearer(token))).json()
    assert any(
        "25.500000 USDT" in n["text"] and "TRC-20" in n["text"] for n in inbox["notifications"]
    )
    # A hash that sends nothing to me; a malformed one.
    r = await client.post(
        "/api/v1/wallet/chain/deposits",
        json={"network": "TRC20", "txid": "cd" * 32},
        headers=bearer(token),
    )
    assert r.status_code == 404 and r.json()["code"] == "chain.deposit_not_found"
    r = await client.post(
        "/api/v1/wallet/chain/deposits",
        json={"network": "TRC20", "txid": "not a hash"},
        headers=bearer(token),
    )
    assert r.status_code == 422 and r.json()["code"] == "chain.txid_invalid"
    assert await _usdt(client, token) == ("25.500000", "0.000000")


async def test_a_deposit_reported_by_the_user_before_the_watcher(client, app):
    app.state.clock.freeze(START)
    _, token, _ = await ready_user(client, app)
    r = await client.post(
        "/api/v1/wallet/chain/dev/send",
        json={"network": "ERC20", "amount": "7.000001"},
        headers=bearer(token),
    )
    txid = r.json()["txid"]
    assert txid.startswith("0x") and len(txid) == 66
    await _blocks(app, 2, "ERC20")
    r = await client.post(
        "/api/v1/wallet/chain/deposits",
        json={"network": "ERC20", "txid": txid},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    assert [(d["status"], d["confirmations"]) for d in r.json()] == [("pending", 2)]
    await _watch(app)  # the watcher finds it too: still one
    assert len(await _deposits(client, token)) == 1
    await _blocks(app, 3, "ERC20")
    assert [w.credited for w in await _watch(app)] == [0, 1]
    assert await _usdt(client, token) == ("7.000001", "0.000000")


async def test_two_watchers_at_once_credit_a_deposit_once(client, app):
    app.state.clock.freeze(START)
    _, token, _ = await ready_user(client, app)
    r = await client.post(
        "/api/v1/wallet/chain/dev/send",
        json={"network": "TRC20", "amount": "100"},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    await _blocks(app, 25)  # past the confirmations before anyone looked
    results = await asyncio.gather(*(_watch(app) for _ in range(4)))
    assert sum(w[0].seen for w in results) == 1
    assert sum(w[0].credited for w in results) == 1
    assert await _usdt(client, token) == ("100.000000", "0.000000")
    async with app.state.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(ChainDeposit)) == 1
        rows = await s.scalar(
            select(func.count()).where(
                WalletTransaction.kind == "topup", WalletTransaction.currency == "USDT"
            )
        )
        assert rows == 1


async def test_amounts_with_more_decimals_than_usdt_are_refused(client, app):
    phone, token, _ = await ready_user(client, app)
    await _fund_usdt(app, phone, 50_000_000)
    for path, body in (
        ("/api/v1/wallet/chain/dev/send", {"network": "TRC20", "amount": "1.0000001"}),
        (
            "/api/v1/wallet/chain/withdrawals",
            {"network": "TRC20", "address": TRON_OTHER, "amount": "12.0000001", "pin": PIN},
        ),
    ):
        r = await client.post(path, json=body, headers={**bearer(token), **key()})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "money.too_many_decimals"
        assert r.headers["content-type"].startswith("application/problem+json")
    assert await _usdt(client, token) == ("50.000000", "0.000000")


# -- withdrawals ---------------------------------------------------------------------------------
async def _withdraw(client, token, *, network="TRC20", address=TRON_OTHER, amount="40.5",
                    pin=PIN, idem=None):  # fmt: skip
    return await client.post(
        "/api/v1/wallet/chain/withdrawals",
        json={"network": network, "address": address, "amount": amount, "pin": pin},
        headers={**bearer(token), **({"Idempotency-Key": idem} if idem else key())},
    )


async def test_a_withdrawal_with_its_fee_and_hash(client, app):
    app.state.clock.freeze(START)
    phone, token, _ = await ready_user(client, app)
    await _fund_usdt(app, phone, 100_000_000)
    r = await _withdraw(client, token, idem="w-1")
    assert r.status_code == 201, r.text
    w = r.json()
    assert (w["status"], w["amount"]["amount"], w["fee"]["amount"], w["total"]["amount"]) == (
        "queued", "40.500000", "1.000000", "41.500000",
    )  # fmt: skip
    assert await _usdt(client, token) == ("58.500000", "41.500000")  # held
    # The same key again: the same withdrawal; with another request: refused.
    r = await _withdraw(client, token, idem="w-1")
    assert r.status_code == 201 and r.json()["id"] == w["id"] and r.json()["replayed"]
    r = await _withdraw(client, token, idem="w-1", amount="41")
    assert r.status_code == 409 and r.json()["code"] == "idempotency.key_reused"
    assert await _usdt(client, token) == ("58.500000", "41.500000")

    await deliver(app)  # the send job
    r = await client.get(f"/api/v1/wallet/chain/withdrawals/{w['id']}", headers=bearer(token))
    sent = r.json()
    assert sent["status"] == "sent" and re.fullmatch("[0-9a-f]{64}", sent["txid"])
    assert sent["network_fee"] == "13.3959 TRX"
    assert await _usdt(client, token) == ("58.500000", "0.000000")  # posted: it left
    assert await _posted(app, "bank_clearing", "chain-trc20") == 40_500_000
    assert await _posted(app, "fee_revenue") == 1_000_000
    await _blocks(app, 19)
    await _watch(app)
    r = await client.get(f"/api/v1/wallet/chain/withdrawals/{w['id']}", headers=bearer(token))
    assert (r.json()["status"], r.json()["confirmations"]) == ("sent", 19)
    await _blocks(app, 1)
    assert [x.completed for x in await _watch(app)] == [1, 0]
    done = (
        await client.get(f"/api/v1/wallet/chain/withdrawals/{w['id']}", headers=bearer(token))
    ).json()
    assert (done["status"], done["txid"], done["confirmations"]) == ("completed", sent["txid"], 20)
    assert await _usdt(client, token) == ("58.500000", "0.000000")
    # Someone else's withdrawal is not found.
    _, other, _ = await ready_user(client, app)
    r = await client.get(f"/api/v1/wallet/chain/withdrawals/{w['id']}", headers=bearer(other))
    assert r.status_code == 404 and r.json()["code"] == "chain.withdrawal_not_found"


async def test_refused_withdrawals_change_no_balance(client, app):
    phone, token, _ = await ready_user(client, app)
    await _fund_usdt(app, phone, 100_000_000)
    eth = EIP55[0]
    cases = [
        (dict(amount="99.5"), 409, "ledger.insufficient_funds"),  # 99.5 + 1 fee > 100
        (dict(address=eth), 422, "chain.address_wrong_network"),
        (dict(network="ERC20", address=TRON_USDT, amount="30"), 422, "chain.address_wrong_network"),
        (dict(network="ERC20", address=_flip(eth), amount="30"), 422,
         "chain.address_checksum"),
        (dict(address=TRON_OTHER[:-1] + "X"), 422, "chain.address_checksum"),
        (dict(address="my wallet"), 422, "chain.address_invalid"),
        (dict(amount="9.99"), 422, "chain.withdrawal_below_minimum"),
        (dict(amount="-5"), 422, "money.negative"),
        (dict(amount="１０"), 422, "money.invalid_amount"),
        (dict(network="BTC"), 422, "chain.network_unknown"),
        (dict(pin="000000"), 401, "identity.wrong_pin"),
    ]  # fmt: skip
    for changes, status, code in cases:
        r = await _withdraw(client, token, **changes)
        assert (r.status_code, r.json()["code"]) == (status, code), (changes, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(
        "/api/v1/wallet/chain/withdrawals",
        json={"network": "TRC20", "address": TRON_OTHER, "amount": "10", "pin": PIN},
        headers=bearer(token),
    )
    assert r.json()["code"] == "wallet.idempotency_key_missing"
    r = await _withdraw(client, token, address=EIP55[1])
    assert "ERC-20" in r.json()["title"] and "TRC-20" in r.json()["title"]
    assert await _usdt(client, token) == ("100.000000", "0.000000")
    assert await _posted(app, "fee_revenue") == 0


async def test_a_withdrawal_that_fails_on_chain_gives_the_money_back(client, app):
    app.state.clock.freeze(START)
    phone, token, _ = await ready_user(client, app)
    await _fund_usdt(app, phone, 100_000_000)
    r = await _withdraw(client, token, address=FAILING["TRC20"], amount="60")
    assert r.status_code == 201, r.text
    w = r.json()
    await deliver(app)
    assert await _usdt(client, token) == ("39.000000", "0.000000")  # sent: it left
    await _blocks(app, 1)
    assert [x.failed for x in await _watch(app)] == [1, 0]
    done = (
        await client.get(f"/api/v1/wallet/chain/withdrawals/{w['id']}", headers=bearer(token))
    ).json()
    assert done["status"] == "failed" and done["failure"]
    assert await _usdt(client, token) == ("100.000000", "0.000000")
    assert await _posted(app, "fee_revenue") == 0
    assert await _posted(app, "bank_clearing", "chain-trc20") == 0
    async with app.state.db.transaction() as s:
        rows = (
            await s.execute(
                select(
                    WalletTransaction.direction, WalletTransaction.status, WalletTransaction.amount
                )
                .where(WalletTransaction.kind == "withdrawal")
                .order_by(WalletTransaction.listed_at, WalletTransaction.direction.desc())
            )
        ).all()
    assert rows == [("out", "reversed", 60_000_000), ("in", "completed", 61_000_000)]
    await deliver(app)
    inbox = (await client.get("/api/v1/me/notifications", headers=bearer(token))).json()
    assert any("60.000000 USDT" in n["text"] for n in inbox["notifications"])
    assert Money(61_000_000, "USDT").text() == "61.000000 USDT"


async def test_usdt_on_chains_needs_usdt_offered(client, app):
    app.state.settings.payments.currencies = ["CNY"]
    _, token, _ = await ready_user(client, app)
    r = await client.get("/api/v1/wallet/chain/networks", headers=bearer(token))
    assert r.status_code == 422 and r.json()["code"] == "wallet.currency_not_offered"
    app.state.settings.payments.currencies = ["CNY", "USDT"]
    app.state.settings.chain.backend = "off"
    r = await client.get("/api/v1/wallet/chain/networks/TRC20/address", headers=bearer(token))
    assert r.status_code == 409 and r.json()["code"] == "chain.unavailable"
    assert await _watch(app) == []


def _cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(url, tmp_path, "chain", "dev-send", *args)


async def test_the_dev_send_command_sends_test_usdt_to_a_users_address(
    client, app, fresh_db_url, tmp_path
):
    phone, token, _ = await ready_user(client, app)  # the machine's time, as the command's
    done = _cli(fresh_db_url, tmp_path, "--phone", phone, "--amount", "12.5", "--network", "ERC20")
    assert done.returncode == 0, done.stderr
    address = (
        await client.get("/api/v1/wallet/chain/networks/ERC20/address", headers=bearer(token))
    ).json()["address"]
    assert f"to {address}" in done.stdout
    txid = re.search(r"transaction (0x[0-9a-f]{64})", done.stdout).group(1)  # type: ignore[union-attr]
    refused = _cli(
        fresh_db_url, tmp_path, "--to", TRON_OTHER, "--amount", "1", "--network", "ERC20"
    )
    assert refused.returncode == 1 and "chain.address_wrong_network" in refused.stderr
    # Six Ethereum blocks later, reported by its hash: it has its confirmations, credited at once.
    await _blocks(app, 7, "ERC20")
    r = await client.post(
        "/api/v1/wallet/chain/deposits",
        json={"network": "ERC20", "txid": txid},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    assert [d["status"] for d in r.json()] == ["credited"]
    assert await _usdt(client, token) == ("12.500000", "0.000000")


@pytest.mark.usefixtures("demo_env")
async def test_the_demo_gives_zhang_san_usdt_history_once(fresh_db):
    for _ in range(2):  # idempotent: the second run adds nothing
        await load_demo_data(fresh_db)
        async with fresh_db.transaction() as s:
            user = await id_accounts.by_phone(s, "+8613800138000")
            assert user is not None
            deposits = (
                await s.execute(
                    select(ChainDeposit.network, ChainDeposit.status, ChainDeposit.amount)
                    .where(ChainDeposit.user_id == user.id)
                    .order_by(ChainDeposit.seen_at)
                )
            ).all()
            assert deposits == [
                ("TRC20", "credited", 500_000_000),
                ("ERC20", "credited", 120_500_000),
            ]
            withdrawals = (
                await s.execute(select(ChainWithdrawal.status, ChainWithdrawal.amount))
            ).all()
            assert withdrawals == [("completed", 100_000_000)]
            rows = (
                await s.execute(
                    select(WalletTransaction.kind, WalletTransaction.status)
                    .where(
                        WalletTransaction.user_id == user.id,
                        WalletTransaction.details["method"].astext == "usdt",
                    )
                    .order_by(WalletTransaction.listed_at)
                )
            ).all()
            assert rows == [
                ("topup", "completed"), ("topup", "completed"), ("withdrawal", "completed"),
            ]  # fmt: skip
