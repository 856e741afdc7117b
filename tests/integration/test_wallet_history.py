"""Wallet history filters (status, amount range) and monthly statements, on a real database that
commits: totals match the ledger to the cent across a month boundary, nobody sees anyone else's
money, the CSV has a BOM and headers in the caller's language."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, time, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from qianbao.identity import accounts as id_accounts
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.ledger import Ledger, Reverse, accounts, transfer
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from tests.support.identity import bearer, e164, sign_up
from tests.support.secrets import remember

PIN = "583920"
remember(PIN)
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


async def _user(client: httpx.AsyncClient, app: FastAPI, amount: int = 0, **extra: object):
    """A signed-up user with a PIN and (optionally) money; returns (phone, token, user id, the
    funding entry id)."""
    phone, token = await sign_up(client, app, **extra)
    r = await client.post("/api/v1/me/pin", json={"pin": PIN}, headers=bearer(token))
    assert r.status_code == 204, r.text
    entry_id = None
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_phone(s, e164(phone))
        wallet = await wallet_account(s, user.id, "CNY")
        if amount:
            ledger = await Ledger.of_session(s)
            source = await accounts.system_account_id(ledger.conn, "equity", "CNY", "opening")
            done = await ledger.post(
                transfer(
                    f"fund-{user.id}",
                    debit_account_id=source,
                    credit_account_id=wallet.id,
                    amount=amount,
                    currency="CNY",
                    entry_type="funding",
                )
            )
            entry_id = done.entry_id
    return phone, token, user.id, entry_id


async def _send(
    client: httpx.AsyncClient, token: str, to: str, amount: str, note: str | None = None
) -> dict:
    r = await client.post(
        "/api/v1/wallet/transfers",
        json={"to": to, "amount": amount, "currency": "CNY", "pin": PIN, "note": note},
        headers={**bearer(token), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _entry_of(app: FastAPI, reference: str) -> uuid.UUID:
    async with app.state.db.transaction() as s:
        row = (
            await s.execute(
                text("SELECT entry_id FROM wallet_transactions WHERE reference = :r"),
                {"r": reference},
            )
        ).one()
    return row.entry_id


async def _backdate(app: FastAPI, entry_id: uuid.UUID, at: datetime) -> None:
    """Move one ledger entry (and its wallet rows) to another instant. The ledger is append-only,
    so the test lifts the guard for this one update, as the table owner, in its own database."""
    async with app.state.db.transaction() as s:
        for table in ("ledger_entries", "ledger_postings"):
            await s.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
        await s.execute(
            text("UPDATE ledger_entries SET created_at = :at, effective_at = :at WHERE id = :e"),
            {"at": at, "e": entry_id},
        )
        for table in ("ledger_postings", "wallet_transactions"):
            await s.execute(
                text(f"UPDATE {table} SET created_at = :at WHERE entry_id = :e"),
                {"at": at, "e": entry_id},
            )
        for table in ("ledger_entries", "ledger_postings"):
            await s.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))


async def _set_status(app: FastAPI, reference: str, status: str) -> None:
    async with app.state.db.transaction() as s:
        await s.execute(
            text("UPDATE wallet_transactions SET status = :s WHERE reference = :r"),
            {"s": status, "r": reference},
        )


def _amounts(body: dict) -> list[str]:
    return [t["amount"]["amount"] for t in body["transactions"]]


async def test_history_filters_by_status_and_amount_with_pages_and_csv(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    _, alice, _, _ = await _user(fresh_client, fresh_app, 100_00)
    bob_phone, bob, _, _ = await _user(fresh_client, fresh_app)
    refs = {}
    for amount in ("5.00", "12.34", "50.00", "10.00"):
        refs[amount] = (await _send(fresh_client, alice, bob_phone, amount))["reference"]
    await _set_status(fresh_app, refs["12.34"], "pending")
    await _set_status(fresh_app, refs["5.00"], "reversed")

    async def listing(token: str = alice, **params: str) -> httpx.Response:
        return await fresh_client.get(
            "/api/v1/wallet/transactions", params=params, headers={**bearer(token), **EN}
        )

    assert _amounts((await listing()).json()) == ["10.00", "50.00", "12.34", "5.00"]
    assert _amounts((await listing(status="completed")).json()) == ["10.00", "50.00"]
    assert _amounts((await listing(status="pending")).json()) == ["12.34"]
    assert _amounts((await listing(status="reversed")).json()) == ["5.00"]
    assert _amounts((await listing(status="failed")).json()) == []
    # Inclusive bounds, compared in minor units.
    assert _amounts((await listing(min_amount="10")).json()) == ["10.00", "50.00", "12.34"]
    assert _amounts((await listing(max_amount="12.34")).json()) == ["10.00", "12.34", "5.00"]
    assert _amounts((await listing(min_amount="10.00", max_amount="12.34")).json()) == [
        "10.00",
        "12.34",
    ]
    assert _amounts((await listing(min_amount="12.35", max_amount="49.99")).json()) == []
    assert _amounts((await listing(min_amount="5", status="completed")).json()) == [
        "10.00",
        "50.00",
    ]
    assert _amounts((await listing(currency="CNY", max_amount="5.00")).json()) == ["5.00"]
    assert _amounts((await listing(currency="USD")).json()) == []
    # The filters hold on every page of the cursor.
    seen, cursor = [], None
    while True:
        params = {"min_amount": "5.01", "limit": "1", **({"cursor": cursor} if cursor else {})}
        body = (await listing(**params)).json()
        seen += _amounts(body)
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ["10.00", "50.00", "12.34"]
    # Bob's side: his own rows only (Alice's pending and reversed rows are hers).
    assert _amounts((await listing(bob, status="pending")).json()) == []
    assert _amounts((await listing(bob, status="completed", max_amount="12.34")).json()) == [
        "10.00",
        "12.34",
        "5.00",
    ]
    assert [
        t["direction"] for t in (await listing(bob, min_amount="0")).json()["transactions"]
    ] == ["in"] * 4

    # Bad bounds: the validation problem, saying which bound, in the caller's language.
    for params, words in [
        ({"min_amount": "abc"}, "lowest amount"),
        ({"min_amount": "1e3"}, "lowest amount"),
        ({"min_amount": "-1"}, "lowest amount"),
        ({"max_amount": "12.345"}, "highest amount"),
        ({"max_amount": "NaN"}, "highest amount"),
        ({"max_amount": "1,000"}, "highest amount"),
        ({"min_amount": "20", "max_amount": "10"}, "must not be above"),
    ]:
        r = await listing(**params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "validation_failed" and words in r.json()["title"], params
    r = await fresh_client.get(
        "/api/v1/wallet/transactions", params={"min_amount": "x"}, headers={**bearer(alice), **ZH}
    )
    assert r.json()["code"] == "validation_failed" and "最低金额" in r.json()["title"]
    r = await listing(min_amount="1", currency="XXX")
    assert r.json()["code"] == "money.unknown_currency"
    r = await listing(status="lost")
    assert r.status_code == 422 and r.json()["code"] == "request.validation_failed"

    # The CSV export takes the same filters.
    r = await fresh_client.get(
        "/api/v1/wallet/transactions.csv",
        params={"min_amount": "10", "status": "completed"},
        headers={**bearer(alice), **EN},
    )
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Time" and [row[3] for row in rows[1:]] == ["10.00", "50.00"]
    r = await fresh_client.get(
        "/api/v1/wallet/transactions.csv", params={"max_amount": "?"}, headers=bearer(alice)
    )
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"

    # The page: the form keeps the values, a bad amount is said in the user's language.
    r = await fresh_client.get(
        "/wallet/history",
        params={"status": "completed", "min_amount": "10"},
        headers={**bearer(alice), **ZH},
    )
    assert r.status_code == 200
    assert r.text.count('class="tx"') == 2 and 'value="10"' in r.text
    assert '<option value="completed" selected>' in r.text
    assert "min_amount=10" in r.text and "status=completed" in r.text  # the export link
    r = await fresh_client.get(
        "/wallet/history", params={"min_amount": "abc"}, headers={**bearer(alice), **ZH}
    )
    assert r.status_code == 422 and "最低金额" in r.text and 'class="tx"' not in r.text
    r = await fresh_client.get(
        "/wallet/history", params={"max_amount": "1.001"}, headers={**bearer(alice), **EN}
    )
    assert "The highest amount is not valid" in r.text


def _months_ago(n: int, today: date) -> date:
    month = today.replace(day=1)
    for _ in range(n):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def _local(day: date, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0):
    return datetime.combine(day, time(hour, minute, second, micro), tzinfo=LOCAL_TZ)


def _key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _minor(money: dict) -> int:
    whole, _, frac = money["amount"].partition(".")
    return int(whole) * 100 + int(frac or 0)


def _check_arithmetic(st: dict) -> None:
    """opening + in - out - fees = closing, and every line's running balance follows."""
    assert _minor(st["opening_balance"]) + _minor(st["total_in"]) - _minor(
        st["total_out"]
    ) - _minor(st["total_fees"]) == _minor(st["closing_balance"])
    balance = _minor(st["opening_balance"])
    for line in st["lines"]:
        sign = 1 if line["direction"] == "in" else -1
        balance += sign * _minor(line["amount"]) - _minor(line["fee"])
        assert balance == _minor(line["balance_after"]), line
    assert balance == _minor(st["closing_balance"])
    assert st["count"] == len(st["lines"])


async def test_monthly_statement_matches_the_ledger_across_a_month_boundary(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    # Mid-month, so that the test itself never runs across a month's end.
    today = fresh_app.state.clock.today().replace(day=15)
    fresh_app.state.clock.travel(datetime.combine(today, time(12), tzinfo=LOCAL_TZ))
    earlier, last, this = _months_ago(2, today), _months_ago(1, today), _months_ago(0, today)
    alice_phone, alice, alice_id, funding = await _user(
        fresh_client, fresh_app, 1000_00, real_name="王小明"
    )
    bob_phone, bob, _, _ = await _user(fresh_client, fresh_app)
    _, carol, _, _ = await _user(fresh_client, fresh_app, 5_00)

    await _backdate(fresh_app, funding, _local(earlier.replace(day=10), 12))
    t1 = await _send(fresh_client, alice, bob_phone, "100.00", "=SUM(A1:A9)")
    # The last microsecond of the earlier month, and the first instant of the next one.
    next_day = (earlier + timedelta(days=32)).replace(day=1)
    await _backdate(
        fresh_app,
        await _entry_of(fresh_app, t1["reference"]),
        _local(next_day - timedelta(days=1), 23, 59, 59, 999_999),
    )
    t2 = await _send(fresh_client, bob, alice_phone, "30.00", "还钱")
    await _backdate(fresh_app, await _entry_of(fresh_app, t2["reference"]), _local(last))
    # A withdrawal with a fee: the ledger debits amount + fee in one posting.
    async with fresh_app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        wallet = await wallet_account(s, alice_id, "CNY")
        done = await ledger.post(
            transfer(
                f"withdraw-{alice_id}",
                debit_account_id=wallet.id,
                credit_account_id=await accounts.system_account_id(
                    ledger.conn, "bank_clearing", "CNY", "payout"
                ),
                amount=50_00,
                fee=2_00,
                fee_account_id=await accounts.system_account_id(ledger.conn, "fee_revenue", "CNY"),
                currency="CNY",
                entry_type="withdrawal",
            )
        )
        s.add(
            WalletTransaction(
                user_id=alice_id,
                account_id=wallet.id,
                kind="withdrawal",
                direction="out",
                currency="CNY",
                amount=50_00,
                fee=2_00,
                balance_after=next(
                    p.balance_after for p in done.postings if p.account_id == wallet.id
                ),
                reference=f"W{uuid.uuid4().hex[:20]}",
                entry_id=done.entry_id,
            )
        )
    await _backdate(fresh_app, done.entry_id, _local(last.replace(day=15), 9, 30))
    await _send(fresh_client, alice, bob_phone, "7.77")  # this month, so far
    # A withdrawal as wallet.withdraw posts it: the amount and the fee as two entries carrying
    # the withdrawal id, one wallet row; then the bank returns it (both entries reversed).
    withdrawal_id = str(uuid.uuid4())
    async with fresh_app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        wallet = await wallet_account(s, alice_id, "CNY")
        legs = {
            "withdrawal": (
                20_00,
                await accounts.system_account_id(ledger.conn, "bank_clearing", "CNY", "payout"),
            ),
            "withdrawal_fee": (
                1_50,
                await accounts.system_account_id(ledger.conn, "fee_revenue", "CNY"),
            ),
        }
        entries = []
        for entry_type, (minor, target) in legs.items():
            done = await ledger.post(
                transfer(
                    f"{entry_type}-{withdrawal_id}",
                    debit_account_id=wallet.id,
                    credit_account_id=target,
                    amount=minor,
                    currency="CNY",
                    entry_type=entry_type,
                    metadata={"withdrawal": withdrawal_id, "user": str(alice_id)},
                )
            )
            entries.append(done.entry_id)
        s.add(
            WalletTransaction(
                user_id=alice_id,
                account_id=wallet.id,
                kind="withdrawal",
                direction="out",
                status="reversed",
                currency="CNY",
                amount=20_00,
                fee=1_50,
                reference=f"W{uuid.uuid4().hex[:20]}",
                details={"withdrawal_id": withdrawal_id},
            )
        )
        for entry_id in entries:
            await ledger.post(Reverse(f"return-{entry_id}", entry_id))
    await _send(fresh_client, carol, bob_phone, "1.11")  # someone else entirely

    async def statement(token: str, month: date, **headers: str) -> dict:
        r = await fresh_client.get(
            f"/api/v1/wallet/statements/{_key(month)}", headers={**bearer(token), **headers}
        )
        assert r.status_code == 200, r.text
        return r.json()

    first = await statement(alice, earlier)
    assert (first["month"], first["currency"], first["complete"]) == (_key(earlier), "CNY", True)
    assert first["opening_balance"]["amount"] == "0.00"
    assert first["total_in"]["amount"] == "1000.00"
    assert first["total_out"]["amount"] == "100.00"
    assert first["total_fees"]["amount"] == "0.00"
    assert first["closing_balance"]["amount"] == "900.00"
    assert [(x["kind"], x["direction"], x["amount"]["amount"]) for x in first["lines"]] == [
        ("adjustment", "in", "1000.00"),
        ("transfer", "out", "100.00"),
    ]
    assert first["lines"][1]["reference"] == t1["reference"]
    _check_arithmetic(first)

    second = await statement(alice, last)
    assert second["opening_balance"]["amount"] == "900.00"
    assert second["total_in"]["amount"] == "30.00"
    assert second["total_out"]["amount"] == "50.00"
    assert second["total_fees"]["amount"] == "2.00"
    assert second["closing_balance"]["amount"] == "878.00"
    assert [(x["kind"], x["amount"]["amount"], x["fee"]["amount"]) for x in second["lines"]] == [
        ("transfer", "30.00", "0.00"),
        ("withdrawal", "50.00", "2.00"),
    ]
    assert second["lines"][0]["note"] == "还钱"
    _check_arithmetic(second)

    now = await statement(alice, this)
    assert now["complete"] is False
    assert now["opening_balance"]["amount"] == "878.00"
    assert [
        (x["kind"], x["direction"], x["amount"]["amount"], x["fee"]["amount"], x["status"])
        for x in now["lines"]
    ] == [
        ("transfer", "out", "7.77", "0.00", "completed"),
        ("withdrawal", "out", "20.00", "1.50", "reversed"),
        ("reversal", "in", "20.00", "0.00", "completed"),
        ("reversal", "in", "1.50", "0.00", "completed"),
    ]
    assert (now["total_in"]["amount"], now["total_out"]["amount"]) == ("21.50", "27.77")
    assert now["total_fees"]["amount"] == "1.50"
    assert now["closing_balance"]["amount"] == "870.23" and now["count"] == 4
    _check_arithmetic(now)
    # The closing balance of the running month is the ledger's balance now.
    body = (await fresh_client.get("/api/v1/wallet", headers=bearer(alice))).json()
    assert body["balances"][0]["available"]["amount"] == "870.23"
    # And each closing balance is the ledger's balance at the month's last instant.
    async with fresh_app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        wallet = await wallet_account(s, alice_id, "CNY")
        for month, st in ((earlier, first), (last, second)):
            following = (month + timedelta(days=32)).replace(day=1)
            at = _local(following) - timedelta(microseconds=1)
            assert (await accounts.balances(ledger.conn, wallet.id, at=at)).posted == _minor(
                st["closing_balance"]
            )

    # Bob sees his side only; Carol's and Alice's other movements never appear.
    bob_first = await statement(bob, earlier)
    assert [(x["direction"], x["amount"]["amount"]) for x in bob_first["lines"]] == [
        ("in", "100.00")
    ]
    assert bob_first["lines"][0]["counterparty_name"] == "王*明"
    bob_now = await statement(bob, this)
    assert sorted(x["amount"]["amount"] for x in bob_now["lines"]) == ["1.11", "7.77"]
    _check_arithmetic(bob_now)
    references = {x["reference"] for x in (await statement(carol, this))["lines"]}
    assert t1["reference"] not in references and t2["reference"] not in references
    assert (await statement(carol, earlier))["lines"] == []

    months = (await fresh_client.get("/api/v1/wallet/statements", headers=bearer(alice))).json()
    assert months == {"currency": "CNY", "months": [_key(this), _key(last), _key(earlier)]}
    # A currency without an account: an empty statement, and no account is opened by reading.
    usd = (
        await fresh_client.get(
            f"/api/v1/wallet/statements/{_key(last)}",
            params={"currency": "USD"},
            headers=bearer(alice),
        )
    ).json()
    assert usd["count"] == 0 and usd["closing_balance"] == {"amount": "0.00", "currency": "USD"}
    body = (await fresh_client.get("/api/v1/wallet", headers=bearer(alice))).json()
    assert [b["currency"] for b in body["balances"]] == ["CNY"]

    # Malformed or future months: one stable code, in the caller's language.
    future = (this + timedelta(days=32)).replace(day=1)
    for month in (_key(future), "2026-13", "2026-1", "26-10", "abcd", "2026-10-01", "1999-12"):
        for suffix in ("", ".csv"):
            r = await fresh_client.get(
                f"/api/v1/wallet/statements/{month}{suffix}", headers={**bearer(alice), **EN}
            )
            assert r.status_code == 422, (month, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "wallet.statement_month_invalid"
    r = await fresh_client.get(
        f"/api/v1/wallet/statements/{_key(future)}", headers={**bearer(alice), **ZH}
    )
    assert "月份" in r.json()["title"]
    r = await fresh_client.get(
        f"/api/v1/wallet/statements/{_key(last)}",
        params={"currency": "XXX"},
        headers=bearer(alice),
    )
    assert r.json()["code"] == "money.unknown_currency"
    r = await fresh_client.get(f"/api/v1/wallet/statements/{_key(last)}")
    assert r.status_code == 401

    # The CSV: BOM, translated headers, the same numbers, formula-safe text.
    r = await fresh_client.get(
        f"/api/v1/wallet/statements/{_key(earlier)}.csv", headers={**bearer(alice), **ZH}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"qianbao-statement-{_key(earlier)}-CNY.csv" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    summary = {row[0]: row[1] for row in rows[:8]}
    assert summary["期初余额"] == "0.00" and summary["期末余额"] == "900.00"
    assert summary["交易笔数"] == "2"
    assert rows[8] == []
    assert rows[9][0] == "时间" and rows[9][-1] == "交易后余额"
    assert [row[3] for row in rows[10:]] == ["1000.00", "100.00"]
    assert rows[11][6] == "'=SUM(A1:A9)"
    r = await fresh_client.get(
        f"/api/v1/wallet/statements/{_key(last)}.csv", headers={**bearer(alice), **EN}
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["Monthly statement", _key(last)]
    assert rows[2] == ["Opening balance", "900.00"] and rows[5] == ["Total fees", "2.00"]
    assert rows[9][:4] == ["Time", "Type", "Direction", "Amount"]
    assert rows[11][1:5] == ["Withdrawal", "Money out", "50.00", "2.00"]

    # The page: picker, totals, the CSV link; a bad month is a message, not a crash.
    r = await fresh_client.get(
        "/wallet/statement", params={"month": _key(last)}, headers={**bearer(alice), **EN}
    )
    assert r.status_code == 200
    assert "Statement for" in r.text and "878.00" in r.text and "还钱" in r.text
    assert f'<option value="{_key(earlier)}">' in r.text
    assert f"/wallet/statement.csv?month={_key(last)}" in r.text
    r = await fresh_client.get(
        "/wallet/statement", params={"month": _key(future)}, headers={**bearer(alice), **ZH}
    )
    assert r.status_code == 422 and "月份" in r.text and 'role="alert"' in r.text
    r = await fresh_client.get(
        "/wallet/statement.csv", params={"month": _key(last)}, headers={**bearer(alice), **EN}
    )
    assert r.content.startswith(b"\xef\xbb\xbf") and b"878.00" in r.content


async def test_history_balances_follow_each_other_across_a_withdrawal_that_settles_later(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """Issue 13, defect 8: a withdrawal settles after other money moved; the history is listed
    in the order money moved, so each row's balance after is the one before it plus or minus
    this row — also across a withdrawal the bank sends back — and the last one is the balance,
    as on the monthly statement."""
    from tests.support.wallet import (
        CARD_OK,
        PAYOUT_RETURNED,
        bind_card,
        ready_user,
        settle_payouts,
        withdraw,
    )

    fresh_app.state.settings.identity.otp_max_sends_per_purpose_hour = 50
    a_phone, alice, _ = await ready_user(fresh_client, fresh_app, minor=100_000)
    b_phone, bob, _ = await ready_user(fresh_client, fresh_app, minor=100_000)
    card = await bind_card(fresh_client, fresh_app, a_phone, alice, CARD_OK)
    returned_card = await bind_card(fresh_client, fresh_app, a_phone, alice, PAYOUT_RETURNED)

    async def withdraw_(card_id: str, amount: str) -> None:
        r = await withdraw(fresh_client, fresh_app, a_phone, alice, card_id, amount)
        assert r.status_code == 201, r.text

    await withdraw_(card, "100.00")  # held now, settles later
    await _send(fresh_client, bob, a_phone, "50.00")  # money in while it is on its way
    await _send(fresh_client, alice, b_phone, "10.00")
    await settle_payouts(fresh_app)  # the withdrawal settles after both transfers
    await _send(fresh_client, bob, a_phone, "5.00")
    await withdraw_(returned_card, "20.00")
    await settle_payouts(fresh_app)
    await settle_payouts(fresh_app)  # ... and the bank sends this one back

    r = await fresh_client.get(
        "/api/v1/wallet/transactions", params={"limit": 100}, headers=bearer(alice)
    )
    rows = list(reversed(r.json()["transactions"]))  # oldest first
    listed = [row["listed_at"] for row in rows]
    assert listed == sorted(listed)
    balance = 100_000
    for row in rows:
        if row["balance_after"] is None:
            assert row["status"] in ("pending", "failed"), row
            continue
        sign = 1 if row["direction"] == "in" else -1
        balance += sign * _minor(row["amount"]) - (_minor(row["fee"]) if sign < 0 else 0)
        assert balance == _minor(row["balance_after"]), row
    r = await fresh_client.get("/api/v1/wallet", headers=bearer(alice))
    assert _minor(r.json()["balances"][0]["available"]) == balance  # nothing on hold any more
    kinds = [(row["kind"], row["direction"], row["status"]) for row in rows]
    assert ("withdrawal", "in", "completed") in kinds  # the money sent back is a row of its own
    # The settled withdrawal sits after the transfers that happened while it was on its way,
    # and its page says when it was asked for and when it completed.
    settled = next(
        row for row in rows if row["kind"] == "withdrawal" and row["amount"]["amount"] == "100.00"
    )
    assert rows.index(settled) > 1 and settled["listed_at"] > settled["created_at"]
    page = await fresh_client.get(f"/wallet/tx/{settled['id']}", headers={**bearer(alice), **EN})
    assert "Completed at" in page.text
    # The statement says the same closing balance.
    month = datetime.fromisoformat(rows[-1]["listed_at"]).astimezone(LOCAL_TZ)
    st = await fresh_client.get(
        f"/api/v1/wallet/statements/{month.year:04d}-{month.month:02d}",
        params={"currency": "CNY"},
        headers=bearer(alice),
    )
    assert st.status_code == 200, st.text
    _check_arithmetic(st.json())
    assert _minor(st.json()["closing_balance"]) == balance
