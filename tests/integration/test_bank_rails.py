"""Bank rails (B3, F3, F4): a user's reference code, statement import (camt.053, camt.054,
MT940) that credits each line once, books charges and interest, parks everything else in
suspense; the suspense queue worked by operators with four-eyes above the threshold; and the
refusals that change nothing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime

import httpx
import pytest
from fastapi import FastAPI

from qianbao.banking import accounts as receiving
from qianbao.banking.inbox import import_folder
from qianbao.ledger import Ledger
from qianbao.rails.bankfiles.model import Statement, StatementEntry
from qianbao.rails.bankfiles.write import camt053, camt054, mt940
from qianbao.wallet.bank_reference import ALPHABET
from tests.integration.test_console import staff_member
from tests.support.identity import bearer, deliver
from tests.support.wallet import balance, ready_user

ACCOUNT_NO = "0200001209200168888"


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    """Sign-up codes need real commits: every test here runs on a fresh database."""
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


DAY = date(2026, 11, 20)


async def _setup(app: FastAPI) -> None:
    async with app.state.db.transaction() as s:
        await receiving.add(
            s,
            code="ICBC-1",
            holder_name="钱包支付科技有限公司",
            bank_name="中国工商银行",
            account_number="0200 0012 0920 0168 888",
            currency="CNY",
            bic="ICBKCNBJ",
        )


def entry(n: int, amount: int, memo: str, direction: str = "credit", **kw) -> StatementEntry:
    return StatementEntry(
        line=0,
        bank_ref=f"REF{n:08d}",
        amount=amount,
        direction=direction,  # type: ignore[arg-type]
        currency="CNY",
        booking_date=DAY,
        value_date=DAY,
        remittance=memo,
        counterparty_name=kw.pop("name", "张三"),
        counterparty_account=kw.pop("account", "6222020000000004242"),
        **kw,
    )


def statement(sid: str, opening: int, entries: list[StatementEntry], kind="camt.053") -> Statement:
    closing = opening + sum(e.amount if e.direction == "credit" else -e.amount for e in entries)
    return Statement(
        kind=kind,
        statement_id=sid,
        account=ACCOUNT_NO,
        currency="CNY",
        created_at=datetime(2026, 11, 20, 18, 0, tzinfo=UTC),
        from_date=DAY,
        to_date=DAY,
        opening=opening if kind != "camt.054" else None,
        closing=closing if kind != "camt.054" else None,
        entries=entries,
    )


def as_camt(st: Statement) -> bytes:
    return camt053(
        st, message_id=f"M{st.statement_id}", created_at=st.created_at,
        account_name="钱包支付科技有限公司", bic="ICBKCNBJ",
    )  # fmt: skip


async def upload(client, token, data: bytes, name: str = "statement.xml") -> httpx.Response:
    return await client.post(
        "/api/v1/bank/statements", files={"file": (name, data)}, headers=bearer(token)
    )


async def reference(client, token) -> str:
    r = await client.get("/api/v1/wallet/bank-transfer", headers=bearer(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accounts"][0]["account_number"] == "0200 0012 0920 0168 888"
    return body["reference"]


async def mirror_balance(app: FastAPI) -> int:
    async with app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        return -int(
            await ledger.conn.fetchval(
                "SELECT posted FROM ledger_accounts WHERE code = 'bank:ICBC-1'"
            )
        )


async def test_a_statement_credits_each_reference_once_and_parks_the_rest(client, app):
    await _setup(app)
    _, token, _ = await ready_user(client, app)
    _, other_token, _ = await ready_user(client, app)
    op_token, _ = await staff_member(app, role="supervisor")
    code = await reference(client, token)
    assert await reference(client, token) == code  # never changes
    assert await reference(client, other_token) != code
    wrong = code[:5] + next(c for c in ALPHABET if c != code[5]) + code[6:]
    st = statement(
        "S-1",
        1_000_000_00,
        [
            entry(1, 500_00, f"钱包充值 {code}"),
            entry(2, 200_00, f"充值 {wrong}"),
            entry(3, 15_00, "account fee", "debit", bank_tx_code="ACMT/MDOP/CHRG"),
            entry(4, 123_45, "interest", bank_tx_code="ACMT/MDOP/INTR"),
            entry(5, 50_00, "no code at all"),
        ],
    )
    data = as_camt(st)
    r = await upload(client, op_token, data)
    assert r.status_code == 201, r.text
    assert r.json() | {"file_id": None} == {
        "file_id": None, "filename": "statement.xml", "kind": "camt.053", "statements": 1,
        "lines": 5, "already_imported": 0, "credited": 1, "booked": 2, "suspense": 2,
        "settled": 0, "rejected": 0, "accepted": 0, "unknown": 0,
    }  # fmt: skip
    assert await balance(client, token) == ("500.00", "0.00")
    assert await mirror_balance(app) == st.closing  # the ledger's mirror is the bank balance
    hist = (await client.get("/api/v1/wallet/transactions", headers=bearer(token))).json()
    top = hist["transactions"][0]
    assert (top["kind"], top["direction"], top["status"]) == ("topup", "in", "completed")
    assert top["amount"]["amount"] == "500.00"
    await deliver(app)

    # The same file again, and the same statement in another file: refused, nothing changes.
    again = await upload(client, op_token, data)
    assert again.status_code == 409 and again.json()["code"] == "bank.file_already_imported"
    other = as_camt(replace(st, created_at=datetime(2026, 11, 21, tzinfo=UTC)))
    again = await upload(client, op_token, other)
    assert again.status_code == 409 and again.json()["code"] == "bank.statement_already_imported"
    assert await balance(client, token) == ("500.00", "0.00")

    # The queue: the mistyped code and the memo without one, oldest first.
    q = (await client.get("/api/v1/bank/suspense", headers=bearer(op_token))).json()
    assert [(i["amount"]["amount"], i["reason"]) for i in q] == [
        ("200.00", "reference_invalid"),
        ("50.00", "no_reference"),
    ]
    assert q[0]["counterparty_account"] == "•••• 4242"  # the payer's account, masked
    item = q[0]["id"]
    # An operator credits it to the user whose code it nearly is (by the code), with a reason.
    r = await client.post(
        f"/api/v1/bank/lines/{item}/credit",
        json={"who": code, "note": "one character off; same payer as line 1"},
        headers=bearer(op_token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["done"] is True and r.json()["line"]["resolution"] == "matched"
    assert await balance(client, token) == ("700.00", "0.00")
    # The user sees both transfers arrived, as on the page.
    r = await client.get("/api/v1/wallet/bank-transfer", headers=bearer(token))
    arrivals = r.json()["arrivals"]
    assert sorted((a["amount"]["amount"], a["status"]) for a in arrivals) == [
        ("200.00", "in_wallet"),
        ("500.00", "in_wallet"),
    ]
    assert all(a["transaction_id"] for a in arrivals)
    r = await client.post(
        f"/api/v1/bank/lines/{item}/credit",
        json={"who": code, "note": "again, by mistake"},
        headers=bearer(op_token),
    )
    assert r.status_code == 409 and r.json()["code"] == "bank.line_not_in_suspense"
    assert await balance(client, token) == ("700.00", "0.00")

    # The next day's statement must continue from this one's closing balance.
    gap = statement("S-2", st.closing + 1, [entry(6, 10_00, code)])
    r = await upload(client, op_token, as_camt(gap))
    assert r.status_code == 422 and r.json()["code"] == "bank.statement_gap"
    nxt = statement("S-2/1", st.closing, [entry(6, 10_00, code)], kind="mt940")
    r = await upload(client, op_token, mt940(nxt), "day2.sta")
    assert r.status_code == 201 and r.json()["credited"] == 1, r.text
    assert await balance(client, token) == ("710.00", "0.00")
    assert await mirror_balance(app) == nxt.closing


async def test_a_notification_and_the_days_statement_credit_a_line_once(client, app):
    await _setup(app)
    _, token, _ = await ready_user(client, app)
    op_token, _ = await staff_member(app, role="admin")
    code = await reference(client, token)
    line = entry(1, 300_00, code)
    r = await upload(client, op_token, camt054(statement("N-1", 0, [line], kind="camt.054"), message_id="N1", created_at=datetime(2026, 11, 20, 10, tzinfo=UTC), account_name="钱包", bic=None))  # fmt: skip
    assert r.status_code == 201 and r.json()["credited"] == 1, r.text
    day = statement("S-1", 0, [line, entry(2, 20_00, code)])
    r = await upload(client, op_token, as_camt(day))
    assert r.status_code == 201, r.text
    assert (r.json()["credited"], r.json()["already_imported"]) == (1, 1)
    assert await balance(client, token) == ("320.00", "0.00")


async def test_refused_files_change_nothing(client, app):
    await _setup(app)
    _, token, _ = await ready_user(client, app)
    op_token, _ = await staff_member(app, role="supervisor")
    code = await reference(client, token)
    good = entry(1, 100_00, code)
    cases = {
        "bank.file_invalid": b"<?xml version='1.0'?><Document><nonsense/></Document>",
        "bank.account_unknown": as_camt(replace(statement("S-9", 0, [good]), account="999")),
        "bank.currency_mismatch": as_camt(
            replace(statement("S-8", 0, [replace(good, currency="USD")]), currency="USD")
        ),
    }
    for code_expected, data in cases.items():
        r = await upload(client, op_token, data)
        assert r.status_code in (409, 422), r.text
        assert r.json()["code"] == code_expected, r.text
    # A camt.053 whose balances do not add up is refused whole, with the line.
    broken = as_camt(statement("S-7", 0, [good])).replace(b">100.00<", b">100.10<", 1)
    r = await upload(client, op_token, broken)
    assert r.status_code == 422 and r.json()["code"] == "bank.file_invalid", r.text
    assert await balance(client, token) == ("0.00", "0.00")
    assert await mirror_balance(app) == 0
    q = (await client.get("/api/v1/bank/suspense", headers=bearer(op_token))).json()
    assert q == []
    # Customers and agents may not import.
    r = await upload(client, token, as_camt(statement("S-1", 0, [good])))
    assert r.status_code == 403
    agent, _ = await staff_member(app, role="support_agent")
    r = await upload(client, agent, as_camt(statement("S-1", 0, [good])))
    assert r.status_code == 403 and r.json()["code"] == "bank.finance_only"


async def test_frozen_wallets_and_limits_send_credits_to_suspense_for_review(client, app):
    await _setup(app)
    phone, token, _ = await ready_user(client, app)
    op_token, _ = await staff_member(app, role="supervisor")
    second, _ = await staff_member(app, role="admin")
    code = await reference(client, token)
    # 12,000.00 is over the tier-0 single top-up limit (5,000.00) and over the four-eyes
    # threshold (10,000.00).
    st = statement("S-1", 0, [entry(1, 12_000_00, code)])
    r = await upload(client, op_token, as_camt(st))
    assert r.status_code == 201 and r.json()["suspense"] == 1, r.text
    q = (await client.get("/api/v1/bank/suspense", headers=bearer(op_token))).json()
    assert q[0]["reason"] == "over_limit"
    item = q[0]["id"]
    r = await client.post(
        f"/api/v1/bank/lines/{item}/credit",
        json={"who": phone, "note": "reviewed: salary, payslip seen"},
        headers=bearer(op_token),
    )
    assert r.status_code == 200 and r.json()["done"] is False, r.text  # proposed only
    assert await balance(client, token) == ("0.00", "0.00")
    r = await client.post(f"/api/v1/bank/lines/{item}/approve", headers=bearer(op_token))
    assert r.status_code == 403 and r.json()["code"] == "bank.same_operator"
    r = await client.post(f"/api/v1/bank/lines/{item}/approve", headers=bearer(second))
    assert r.status_code == 200 and r.json()["done"] is True, r.text
    assert await balance(client, token) == ("12000.00", "0.00")

    # A frozen wallet takes nothing: the line waits in suspense with the reason.
    r = await client.post("/api/v1/me/freeze", headers=bearer(token))
    assert r.status_code == 204, r.text
    st2 = statement("S-2", st.closing, [entry(2, 10_00, code)])
    r = await upload(client, op_token, as_camt(st2))
    assert r.status_code == 201 and r.json()["suspense"] == 1, r.text
    q = (await client.get("/api/v1/bank/suspense", headers=bearer(op_token))).json()
    assert [i["reason"] for i in q] == ["wallet_frozen"]
    assert await balance(client, token) == ("12000.00", "0.00")


async def test_lines_of_one_payer_in_one_file_count_against_each_others_limit(client, app):
    """The lines of a file are credited in batches; two lines of one user in a batch are judged
    one after the other, as two top-ups would be (tier 0: 20,000.00 a day)."""
    await _setup(app)
    _, token, _ = await ready_user(client, app)
    _, other, _ = await ready_user(client, app)
    op_token, _ = await staff_member(app, role="supervisor")
    code, other_code = await reference(client, token), await reference(client, other)
    lines = [entry(n, 4_500_00, code if n % 2 else other_code) for n in range(1, 11)]
    r = await upload(client, op_token, as_camt(statement("S-1", 0, lines)))
    assert r.status_code == 201, r.text
    assert (r.json()["credited"], r.json()["suspense"]) == (8, 2), r.text
    assert await balance(client, token) == ("18000.00", "0.00")
    assert await balance(client, other) == ("18000.00", "0.00")
    q = (await client.get("/api/v1/bank/suspense", headers=bearer(op_token))).json()
    assert sorted(i["reason"] for i in q) == ["over_limit", "over_limit"]
    assert await mirror_balance(app) == 45_000_00


async def test_two_operators_crediting_one_item_at_once_move_its_money_once(client, app):
    await _setup(app)
    phone, token, _ = await ready_user(client, app)
    a, _ = await staff_member(app, role="supervisor")
    b, _ = await staff_member(app, role="admin")
    r = await upload(client, a, as_camt(statement("S-1", 0, [entry(1, 99_00, "no code")])))
    assert r.status_code == 201, r.text
    item = (await client.get("/api/v1/bank/suspense", headers=bearer(a))).json()[0]["id"]
    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/bank/lines/{item}/credit",
                json={"who": phone, "note": "customer called with the receipt"},
                headers=bearer(t),
            )
            for t in (a, b, a, b)
        )
    )
    assert sorted(x.status_code for x in answers) == [200, 409, 409, 409], [x.text for x in answers]
    assert await balance(client, token) == ("99.00", "0.00")


async def test_the_watched_folder_imports_and_sorts_files(client, app, tmp_path):
    tmp_path = tmp_path / "inbox"
    tmp_path.mkdir()
    await _setup(app)
    _, token, _ = await ready_user(client, app)
    code = await reference(client, token)
    app.state.settings.bank.inbox_dir = tmp_path
    (tmp_path / "day1.xml").write_bytes(as_camt(statement("S-1", 0, [entry(1, 8_00, code)])))
    (tmp_path / "broken.xml").write_bytes(b"<Document>")
    (tmp_path / "still-writing.xml.part").write_bytes(b"")
    outcomes = await import_folder(app.state.db, app.state.settings)
    assert sorted((o.name, o.refused is None) for o in outcomes) == [
        ("broken.xml", False),
        ("day1.xml", True),
    ]
    assert (tmp_path / "done" / "day1.xml").exists()
    assert (tmp_path / "failed" / "broken.xml").exists()
    assert "bank.file_invalid" in (tmp_path / "failed" / "broken.xml.txt").read_text()
    assert (tmp_path / "still-writing.xml.part").exists()
    assert await balance(client, token) == ("8.00", "0.00")
