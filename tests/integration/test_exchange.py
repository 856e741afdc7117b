"""Several currencies and exchange (B12): wallets per enabled currency, rates from the operator's
table (four-eyes) or the rate provider, quotes that expire and are used once, one ledger entry
balanced in each currency, exact amounts (USDT's 6 decimals, JPY's none), and refusals that
change no balance — also when an exchange races a transfer for the same money."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from qianbao.identity import accounts as id_accounts
from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.moneyconf import rates
from qianbao.wallet import exchange
from qianbao.wallet.errors import ExchangeTooSmall
from qianbao.wallet.models import WalletTransaction
from tests.conftest import base_settings
from tests.integration.test_console import staff_member
from tests.support.identity import bearer, e164
from tests.support.wallet import PIN, key, ready_user

OFFERED = ["CNY", "USD", "USDT", "JPY", "HKD"]


@pytest.fixture
def settings(tmp_path):
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        email={"backend": "file", "outbox_dir": tmp_path / "mail"},
        payments={
            "payout_outbox_path": tmp_path / "payouts.jsonl",
            "sandbox_secret": "test-sandbox-signing-key",
            "currencies": OFFERED,
            "fx": {"quote_ttl_s": 30},
        },
    )


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def _set_rates(app: FastAPI, **table: tuple[str, str]) -> None:
    async with app.state.db.transaction() as s:
        for code, (per_cny, spread) in table.items():
            await rates.set_rate(
                s, code, Decimal(per_cny), Decimal(spread), change_id=uuid.uuid4(),
                now=app.state.clock.now(),
            )  # fmt: skip


async def _balances(client, token) -> dict[str, str]:
    body = (await client.get("/api/v1/wallet", headers=bearer(token))).json()
    return {b["currency"]: b["available"]["amount"] for b in body["balances"]}


async def _quote(client, token, sell, buy, amount, side="sell"):
    return await client.post(
        "/api/v1/wallet/exchange/quotes",
        json={"sell": sell, "buy": buy, "amount": amount, "side": side},
        headers=bearer(token),
    )


async def _confirm(client, token, quote_id, idem=None, pin=PIN):
    return await client.post(
        "/api/v1/wallet/exchange",
        json={"quote_id": quote_id, "pin": pin},
        headers={**bearer(token), **({"Idempotency-Key": idem} if idem else key())},
    )


async def _entry_sums(app, entry_id: str) -> dict[str, int]:
    async with app.state.db.transaction() as s:
        rows = await s.execute(
            text(
                "SELECT currency, sum(amount) FROM ledger_postings WHERE entry_id = :e "
                "GROUP BY currency"
            ),
            {"e": uuid.UUID(entry_id)},
        )
        return {c: int(v) for c, v in rows}


async def _system(app, kind: str, code: str) -> int:
    async with app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        account_id = await ledger_accounts.system_account_id(ledger.conn, kind, code)
        return int(
            await ledger.conn.fetchval(
                "SELECT posted FROM ledger_accounts WHERE id = $1", account_id
            )
        )


async def test_exchange_cny_to_usd_and_usdt_exact_and_balanced(client, app):
    await _set_rates(app, USD=("7.1180", "0.5"), USDT=("7.1050", "0.5"))
    _, token, _ = await ready_user(client, app, minor=100_000)
    r = await client.post(
        "/api/v1/wallet/currencies", json={"currency": "USD"}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    opened = {c["currency"]: c["open"] for c in r.json()}
    assert opened == {"CNY": True, "USD": True, "USDT": False, "JPY": False, "HKD": False}

    # Sell 100.00 CNY: the spread 0.5 % (0.50 CNY) is the fee; 99.50 / 7.118 = 13.978… → 13.97.
    r = await _quote(client, token, "CNY", "USD", "100.00")
    assert r.status_code == 201, r.text
    q = r.json()
    assert (q["sell"], q["fee"], q["buy"]) == (
        {"amount": "100.00", "currency": "CNY"},
        {"amount": "0.50", "currency": "CNY"},
        {"amount": "13.97", "currency": "USD"},
    )
    assert q["expires_in_s"] == 30 and q["spread_percent"] == "0.5"
    fx_cny, fx_usd, fees = (
        await _system(app, "fx", "CNY"),
        await _system(app, "fx", "USD"),
        await _system(app, "fee_revenue", "CNY"),
    )
    r = await _confirm(client, token, q["id"])
    assert r.status_code == 201, r.text
    assert await _balances(client, token) == {"CNY": "900.00", "USD": "13.97"}
    async with app.state.db.transaction() as s:
        entry_id = (
            await s.execute(text("SELECT entry_id FROM fx_quotes WHERE id = :q"), {"q": q["id"]})
        ).scalar_one()
    assert await _entry_sums(app, str(entry_id)) == {"CNY": 0, "USD": 0}  # balanced per currency
    assert await _system(app, "fx", "CNY") - fx_cny == 9950
    assert await _system(app, "fx", "USD") - fx_usd == -1397
    assert await _system(app, "fee_revenue", "CNY") - fees == 50

    # Get exactly 10.00 USD: the smallest amount of CNY that buys it (71.54, fee 0.36).
    q = (await _quote(client, token, "CNY", "USD", "10.00", side="buy")).json()
    assert (q["sell"]["amount"], q["fee"]["amount"], q["buy"]["amount"]) == (
        "71.54",
        "0.36",
        "10.00",
    )
    assert (await _confirm(client, token, q["id"])).status_code == 201
    # Into USDT (6 decimals): 99.50 CNY / 7.105 = 14.004222… USDT.
    q = (await _quote(client, token, "CNY", "USDT", "100.00")).json()
    assert q["buy"] == {"amount": "14.004222", "currency": "USDT"}
    assert (await _confirm(client, token, q["id"])).status_code == 201
    # And back: 14.004222 USDT sold, 0.5 % spread (0.070021) → 13.934201 × 7.105 = 99.00… CNY.
    q = (await _quote(client, token, "USDT", "CNY", "14.004222")).json()
    assert q["fee"]["amount"] == "0.070021" and q["buy"]["amount"] == "99.00"
    assert (await _confirm(client, token, q["id"])).status_code == 201
    assert await _balances(client, token) == {
        "CNY": "827.46",  # 1000 − 100 − 71.54 − 100 + 99.00
        "USD": "23.97",
        "USDT": "0.000000",
    }
    # The history has both sides of each exchange, per currency.
    usd = (
        await client.get("/api/v1/wallet/transactions?currency=USD", headers=bearer(token))
    ).json()["transactions"]
    assert [(t["kind"], t["direction"], t["amount"]["amount"]) for t in usd] == [
        ("exchange", "in", "10.00"),
        ("exchange", "in", "13.97"),
    ]
    st = (
        await client.get(
            f"/api/v1/wallet/statements/{app.state.clock.now():%Y-%m}?currency=USDT",
            headers=bearer(token),
        )
    ).json()
    assert st["closing_balance"]["amount"] == "0.000000" and st["count"] == 2


async def test_quote_refusals_name_the_problem_and_change_nothing(client, app):
    await _set_rates(app, USD=("7.1180", "0.5"))
    _, token, _ = await ready_user(client, app, minor=10_000)
    before = await _balances(client, token)
    cases = [
        (("CNY", "USD", "1.001"), "money.too_many_decimals"),
        (("CNY", "JPY", "1.5", "buy"), "money.too_many_decimals"),
        (("CNY", "USDT", "1.0000001", "buy"), "money.too_many_decimals"),
        (("CNY", "USD", "１００"), "money.invalid_amount"),
        (("CNY", "USD", "0"), "money.zero"),
        (("CNY", "CNY", "10"), "fx.same_currency"),
        (("CNY", "EUR", "10"), "wallet.currency_not_offered"),
        (("CNY", "HKD", "10"), "fx.rate_unavailable"),  # offered, but no rate and no provider
        (("CNY", "USD", "100.01"), "ledger.insufficient_funds"),
        (("CNY", "USD", "0.01"), "fx.amount_too_small"),
    ]
    for args, code in cases:
        r = await _quote(client, token, *args)
        assert r.status_code >= 400 and r.json()["code"] == code, (args, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(
        "/api/v1/wallet/currencies", json={"currency": "EUR"}, headers=bearer(token)
    )
    assert r.json()["code"] == "wallet.currency_not_offered"
    assert await _balances(client, token) == before


async def test_a_currency_the_operator_closes_can_still_be_exchanged_away(client, app):
    await _set_rates(app, USD=("7.1180", "0.5"))
    _, token, _ = await ready_user(client, app, minor=100_000)
    q = (await _quote(client, token, "CNY", "USD", "100.00")).json()
    assert (await _confirm(client, token, q["id"])).status_code == 201
    app.state.settings.payments.currencies = ["CNY"]  # USD no longer offered
    r = await _quote(client, token, "CNY", "USD", "10.00")
    assert r.json()["code"] == "wallet.currency_not_offered"  # nothing more goes in
    r = await _quote(client, token, "USD", "CNY", "13.97")
    assert r.status_code == 201, r.text  # but what is there can come out
    assert (await _confirm(client, token, r.json()["id"])).status_code == 201
    assert (await _balances(client, token))["USD"] == "0.00"


async def test_a_quote_expires_and_is_used_once(client, app):
    await _set_rates(app, USD=("7.1180", "0.5"))
    _, token, _ = await ready_user(client, app, minor=100_000)
    _, other, _ = await ready_user(client, app, minor=100_000)
    q = (await _quote(client, token, "CNY", "USD", "100.00")).json()
    # Not someone else's.
    r = await _confirm(client, other, q["id"])
    assert r.status_code == 404 and r.json()["code"] == "fx.quote_not_found"
    # A wrong PIN: refused, nothing moves, the quote stays open.
    r = await _confirm(client, token, q["id"], pin="000000")
    assert r.status_code >= 400 and r.json()["code"] == "identity.wrong_pin"
    assert await _balances(client, token) == {"CNY": "1000.00"}
    idem = uuid.uuid4().hex
    first = await _confirm(client, token, q["id"], idem)
    assert first.status_code == 201, first.text
    again = await _confirm(client, token, q["id"], idem)
    assert again.status_code == 201 and again.json()["replayed"] is True
    assert again.json()["reference"] == first.json()["reference"]
    r = await _confirm(client, token, q["id"])
    assert r.status_code == 409 and r.json()["code"] == "fx.quote_used"
    assert await _balances(client, token) == {"CNY": "900.00", "USD": "13.97"}

    q = (await _quote(client, token, "CNY", "USD", "100.00")).json()
    app.state.clock.advance(seconds=30)
    r = await _confirm(client, token, q["id"])
    assert r.status_code == 409 and r.json()["code"] == "fx.quote_expired"
    assert await _balances(client, token) == {"CNY": "900.00", "USD": "13.97"}


async def test_two_confirmations_of_one_quote_at_once_exchange_once(client, app):
    await _set_rates(app, USD=("7.1180", "0.5"))
    _, token, _ = await ready_user(client, app, minor=100_000)
    q = (await _quote(client, token, "CNY", "USD", "100.00")).json()
    results = await asyncio.gather(*(_confirm(client, token, q["id"]) for _ in range(6)))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409, 409, 409, 409], [r.text for r in results]
    assert await _balances(client, token) == {"CNY": "900.00", "USD": "13.97"}


async def test_an_exchange_racing_a_transfer_for_the_same_money(client, app):
    await _set_rates(app, USD=("7.1180", "0.5"))
    _, token, _ = await ready_user(client, app, minor=10_000)
    payee, _, _ = await ready_user(client, app)
    for _ in range(3):
        q = (await _quote(client, token, "CNY", "USD", "80.00")).json()
        send = client.post(
            "/api/v1/wallet/transfers",
            json={"to": payee, "amount": "80.00", "currency": "CNY", "pin": PIN},
            headers={**bearer(token), **key()},
        )
        ex, tr = await asyncio.gather(_confirm(client, token, q["id"]), send)
        won = [r for r in (ex, tr) if r.status_code == 201]
        assert len(won) <= 1, (ex.text, tr.text)
        lost = [r for r in (ex, tr) if r.status_code != 201]
        assert all(r.json()["code"] == "ledger.insufficient_funds" for r in lost)
        balances = await _balances(client, token)
        assert Decimal(balances["CNY"]) >= 0
        if won:
            break
    assert await _balances(client, token) in (
        {"CNY": "20.00", "USD": "11.18"},  # 79.60 / 7.118
        {"CNY": "20.00"},
        {"CNY": "20.00", "USD": "0.00"},
    )


async def test_rates_change_by_four_eyes_with_history_and_transfers_in_usd(client, app):
    maker, _ = await staff_member(app, role="supervisor")
    checker, _ = await staff_member(app, role="admin")
    for per_cny, spread in (("7.2000", "0.4"), ("7.1180", "0.5")):
        r = await client.post(
            "/api/v1/finance/changes",
            json={"target": "rate:USD", "values": {"per_cny": per_cny, "spread": spread},
                  "reason": "每日牌价 daily rate"},
            headers=bearer(maker),
        )  # fmt: skip
        assert r.status_code == 201, r.text
        r = await client.post(
            f"/api/v1/finance/changes/{r.json()['id']}/approve", headers=bearer(checker)
        )
        assert r.status_code == 200, r.text
    bad = await client.post(
        "/api/v1/finance/changes",
        json={"target": "rate:USD", "values": {"per_cny": "-1", "spread": "0.5"}, "reason": "x"},
        headers=bearer(maker),
    )
    assert bad.status_code == 422 and bad.json()["code"] == "finance.invalid"
    history = (
        await client.get("/api/v1/finance/changes?target=rate:USD", headers=bearer(checker))
    ).json()
    afters = [c["after"]["per_cny"] for c in history if c["status"] == "approved"]
    assert sorted(afters) == ["7.118", "7.2"]

    phone, token, _ = await ready_user(client, app, minor=100_000)
    payee_phone, payee, _ = await ready_user(client, app)
    rates_now = (await client.get("/api/v1/wallet/exchange/rates", headers=bearer(token))).json()
    assert {"currency": "USD", "cny_per_unit": "7.118", "spread_percent": "0.5",
            "source": "table"} in rates_now  # fmt: skip
    q = (await _quote(client, token, "CNY", "USD", "100.00")).json()
    assert (await _confirm(client, token, q["id"])).status_code == 201
    # A transfer in USD: the payee's USD wallet opens on the way in.
    r = await client.post(
        "/api/v1/wallet/transfers",
        json={"to": payee_phone, "amount": "3.50", "currency": "USD", "pin": PIN},
        headers={**bearer(token), **key()},
    )
    assert r.status_code == 201, r.text
    assert await _balances(client, payee) == {"CNY": "0.00", "USD": "3.50"}
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_phone(s, e164(phone))
        rows = (
            await s.execute(
                select(WalletTransaction.currency, WalletTransaction.kind).where(
                    WalletTransaction.user_id == user.id
                )
            )
        ).all()
    assert sorted(rows) == [("CNY", "exchange"), ("USD", "exchange"), ("USD", "transfer")]


def test_amounts_both_ways_agree():
    p = exchange.Pair("CNY", "USD", Decimal(1) / Decimal("7.118"), Decimal("0.5"), "table")
    for buy in (1, 7, 99, 1000, 1397, 123_456):
        a = exchange.amounts_buying(p, buy)
        assert a.buy == buy
        assert exchange.amounts_selling(p, a.sell).buy >= buy  # selling that much buys it
        with contextlib.suppress(ExchangeTooSmall):  # and no less would
            assert exchange.amounts_selling(p, a.sell - 1).buy < buy
