"""Payout files (F3) and the operator's books (F4): approved withdrawals leave as an XSD-valid
pain.001 made by one operator and approved by another; the bank's pain.002 settles or rejects
each one (a rejection gives the money back at once), the next statement settles or returns them
(a return gives the amount and the fee back); the safeguarding report then has no unexplained
difference, and a difference alerts the operators. Refusals change nothing."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from qianbao.banking import demo_bank, safeguarding
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.notifications import inbox
from qianbao.rails.bankfiles.pain import validate_pain001
from qianbao.rails.models import BankPayout
from tests.integration.test_bank_rails import (
    _setup,
    as_camt,
    entry,
    mirror_balance,
    statement,
    upload,
)
from tests.integration.test_console import staff_member
from tests.support.identity import bearer, deliver
from tests.support.wallet import (
    CARD_OK,
    PAYOUT_FAILS,
    PAYOUT_RETURNED,
    balance,
    bind_card,
    ready_user,
    withdraw,
)

OPENING = 1_000_000_00


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    fresh_app.state.settings.payments.payout_backend = "bank_file"
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def _withdrawals(client, app) -> tuple[str, dict[str, str]]:
    """A user with ¥1,000.00 withdrawing ¥100 (paid), ¥200 (rejected: AC04) and ¥300 (paid,
    then returned) — the development bank's outcomes by the account number's last digits."""
    phone, token, _ = await ready_user(client, app, minor=1_000_00)
    ids = {}
    for number, amount in (
        (CARD_OK, "100.00"),
        (PAYOUT_FAILS, "200.00"),
        (PAYOUT_RETURNED, "300.00"),
    ):
        card = await bind_card(client, app, phone, token, number)
        r = await withdraw(client, app, phone, token, card, amount)
        assert r.status_code == 201 and r.json()["status"] == "approved", r.text
        ids[amount] = r.json()["id"]
    await deliver(app)  # the submission jobs: each withdrawal becomes a queued instruction
    return token, ids


async def _status(client, token, wid: str) -> tuple[str, str | None]:
    w = (
        await client.get(
            f"/api/v1/wallet/withdrawals/{wid}", headers={**bearer(token), "Accept-Language": "en"}
        )
    ).json()
    return w["status"], w["timeline"][-1]["note"] if w["status"] in ("failed", "returned") else None


async def test_the_payout_round_from_file_to_statement(client, app):
    await _setup(app)
    op_a, _ = await staff_member(app, role="supervisor")
    op_b, _ = await staff_member(app, role="admin")
    r = await upload(
        client,
        op_a,
        as_camt(
            statement("S-0", OPENING, [entry(1, 10_00, "interest", bank_tx_code="ACMT/MDOP/INTR")])
        ),
    )
    assert r.status_code == 201, r.text  # fmt: skip
    token, ids = await _withdrawals(client, app)
    fee_total = 3 * 1_00 + (10 + 20 + 30)  # ¥1.00 + 0.1 % each
    assert fee_total == 3_60
    assert await balance(client, token) == ("396.40", "603.60")
    listed = (await client.get("/api/v1/bank/payout-batches", headers=bearer(op_a))).json()
    assert listed == {"queued": 3, "batches": []}

    made = await client.post("/api/v1/bank/payout-batches", headers=bearer(op_a))
    assert made.status_code == 201, made.text
    [batch] = made.json()
    assert (batch["status"], batch["count"], batch["control_sum"]) == (
        "draft", 3, {"amount": "600.00", "currency": "CNY"}
    )  # fmt: skip
    again = await client.post("/api/v1/bank/payout-batches", headers=bearer(op_a))
    assert again.json() == []  # nothing queued any more: no empty file

    # The maker cannot approve; the file cannot be released before it is approved.
    r = await client.post(
        f"/api/v1/bank/payout-batches/{batch['id']}/approve", headers=bearer(op_a)
    )
    assert r.status_code == 403 and r.json()["code"] == "bank.same_operator"
    r = await client.post(
        f"/api/v1/bank/payout-batches/{batch['id']}/release", headers=bearer(op_a)
    )
    assert r.status_code == 409 and r.json()["code"] == "bank.batch_state"
    r = await client.post(
        f"/api/v1/bank/payout-batches/{batch['id']}/approve", headers=bearer(op_b)
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    r = await client.post(
        f"/api/v1/bank/payout-batches/{batch['id']}/release", headers=bearer(op_a)
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    document = r.content
    validate_pain001(document)  # the ISO 20022 schema and the control sums
    assert b"<CtrlSum>600.00</CtrlSum>" in document and b"<NbOfTxs>3</NbOfTxs>" in document
    assert CARD_OK.encode() in document  # the whole account number, in the bank's file only
    r = await client.post(
        f"/api/v1/bank/payout-batches/{batch['id']}/release", headers=bearer(op_b)
    )
    assert r.content == document  # the same bytes each time
    assert await _status(client, token, ids["100.00"]) == ("submitted", None)

    # The bank's answer: a status report rejecting one payout, then the next statement.
    async with app.state.db.transaction() as s:
        answer = await demo_bank.answer(s, app.state.settings, uuid.UUID(batch["id"]))
    r = await upload(client, op_a, answer.status_report, answer.status_name)
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("kind", "settled", "rejected", "unknown")} == {
        "kind": "pain.002", "settled": 2, "rejected": 1, "unknown": 0,
    }  # fmt: skip
    status, reason = await _status(client, token, ids["200.00"])
    assert status == "failed" and "closed" in reason
    r = await upload(client, op_a, answer.status_report, "again.xml")
    assert r.status_code == 409 and r.json()["code"] == "bank.file_already_imported"

    r = await upload(client, op_a, answer.statement, answer.statement_name)
    assert r.status_code == 201, r.text
    assert (r.json()["lines"], r.json()["booked"], r.json()["suspense"]) == (3, 3, 0)
    assert await _status(client, token, ids["100.00"]) == ("settled", None)
    status, reason = await _status(client, token, ids["300.00"])
    assert status == "returned" and "sent the money back" in reason
    # Paid out: ¥100 and its ¥1.10 fee; the rejected and the returned ones came back whole.
    assert await balance(client, token) == ("898.90", "0.00")

    # The books: the mirror equals the bank's closing balance; nothing unexplained.
    report = (await client.get("/api/v1/bank/safeguarding", headers=bearer(op_b))).json()
    [cny] = report
    assert cny["unexplained"] == {"amount": "0.00", "currency": "CNY"}
    assert cny["lines"]["customers"]["amount"] == "898.90"
    assert await mirror_balance(app) == OPENING + 10_00 - 100_00
    assert cny["bank"]["amount"] == f"{(OPENING + 10_00 - 100_00) / 100:.2f}"
    trial = (await client.get("/api/v1/bank/trial-balance", headers=bearer(op_b))).json()
    assert sum(int(row["posted"]["amount"].replace(".", "")) for row in trial) == 0


async def test_an_invalid_file_is_never_made_and_a_race_approves_once(client, app):
    await _setup(app)
    op_a, _ = await staff_member(app, role="supervisor")
    op_b, _ = await staff_member(app, role="admin")
    op_c, _ = await staff_member(app, role="admin")
    await _withdrawals(client, app)
    async with app.state.db.transaction() as s:  # a name the pain.001 schema cannot carry
        await s.execute(
            update(BankPayout).where(BankPayout.amount == 200_00).values(holder_name=" ")
        )
    r = await client.post("/api/v1/bank/payout-batches", headers=bearer(op_a))
    assert r.status_code == 422 and r.json()["code"] == "bank.payout_file_invalid", r.text
    listed = (await client.get("/api/v1/bank/payout-batches", headers=bearer(op_a))).json()
    assert listed == {"queued": 3, "batches": []}  # nothing was made, nothing changed

    async with app.state.db.transaction() as s:
        await s.execute(
            update(BankPayout).where(BankPayout.amount == 200_00).values(holder_name="张三")
        )
    [batch] = (await client.post("/api/v1/bank/payout-batches", headers=bearer(op_a))).json()
    url = f"/api/v1/bank/payout-batches/{batch['id']}/approve"
    one, two = await asyncio.gather(
        client.post(url, headers=bearer(op_b)), client.post(url, headers=bearer(op_c))
    )
    assert sorted([one.status_code, two.status_code]) == [200, 409]

    # A status report about a file we never released: refused whole.
    async with app.state.db.transaction() as s:
        rows = (await s.execute(select(BankPayout))).scalars().all()
        assert {p.status for p in rows} == {"batched"}


async def test_a_status_report_for_an_unknown_file_and_the_alert(client, app):
    await _setup(app)
    op_a, _ = await staff_member(app, role="supervisor")
    _, admin_id = await staff_member(app, role="admin")
    await upload(client, op_a, as_camt(statement("S-0", OPENING, [])))
    pain002 = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:'
        b'xsd:pain.002.001.10"><CstmrPmtStsRpt><GrpHdr><MsgId>X1</MsgId><CreDtTm>2026-11-20T10:'
        b"00:00+08:00</CreDtTm></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>QBPNOSUCHFILE</OrgnlMsgId>"
        b"<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId><GrpSts>ACSC</GrpSts></OrgnlGrpInfAndSts>"
        b"</CstmrPmtStsRpt></Document>"
    )
    r = await upload(client, op_a, pain002, "status.xml")
    assert r.status_code == 409 and r.json()["code"] == "bank.status_report_unknown", r.text

    async with app.state.db.transaction() as s:
        [ok] = await safeguarding.daily(s)
        assert ok.unexplained == 0
    # Money moved into the bank's mirror by hand, with no statement behind it: the next day's
    # report cannot explain it and every supervisor and admin is told.
    async with app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        mirror = await system_account_id(ledger.conn, "bank_clearing", "CNY", "bank:ICBC-1")
        equity = await system_account_id(ledger.conn, "equity", "CNY", "opening")
        await ledger.post(
            transfer("manual-1", debit_account_id=mirror, credit_account_id=equity, amount=5_00, currency="CNY")
        )  # fmt: skip
    app.state.clock.advance(days=1)
    async with app.state.db.transaction() as s:
        [bad] = await safeguarding.daily(s)
        assert bad.unexplained == -5_00
        items = await inbox.inbox(s, admin_id, "en")
        assert any(i.link == "/ops/bank#safeguarding" and "5.00" in i.text for i in items), items


async def test_money_in_suspense_goes_back_to_the_payer(client, app):
    await _setup(app)
    op_a, _ = await staff_member(app, role="supervisor")
    op_b, _ = await staff_member(app, role="admin")
    st = statement(
        "S-0",
        OPENING,
        [
            entry(1, 80_00, "no code", account="6222020000000004242"),
            entry(2, 90_00, "no code either", account="6228480000000080069"),  # will be refused
            entry(3, 70_00, "no account", account=None),
        ],
    )
    r = await upload(client, op_a, as_camt(st))
    assert r.status_code == 201 and r.json()["suspense"] == 3, r.text
    q = (await client.get("/api/v1/bank/suspense", headers=bearer(op_a))).json()
    ids = [i["id"] for i in q]
    r = await client.post(
        f"/api/v1/bank/lines/{ids[2]}/refund", json={"note": "payer unknown"}, headers=bearer(op_a)
    )
    assert r.status_code == 422 and r.json()["code"] == "bank.payer_account_unknown", r.text
    for line_id in ids[:2]:
        r = await client.post(
            f"/api/v1/bank/lines/{line_id}/refund",
            json={"note": "no reference: returned to the payer"},
            headers=bearer(op_a),
        )
        assert r.status_code == 200 and r.json()["line"]["resolution"] == "refunded", r.text
    r = await client.post(
        f"/api/v1/bank/lines/{ids[0]}/refund",
        json={"note": "twice by mistake"},
        headers=bearer(op_a),
    )
    assert r.status_code == 409 and r.json()["code"] == "bank.line_not_in_suspense"

    [batch] = (await client.post("/api/v1/bank/payout-batches", headers=bearer(op_a))).json()
    assert batch["control_sum"]["amount"] == "170.00"
    await client.post(f"/api/v1/bank/payout-batches/{batch['id']}/approve", headers=bearer(op_b))
    r = await client.post(
        f"/api/v1/bank/payout-batches/{batch['id']}/release", headers=bearer(op_b)
    )
    assert b"6222020000000004242" in r.content
    async with app.state.db.transaction() as s:
        answer = await demo_bank.answer(s, app.state.settings, uuid.UUID(batch["id"]))
    r = await upload(client, op_a, answer.status_report, answer.status_name)
    assert (r.json()["settled"], r.json()["rejected"]) == (1, 1), r.text
    # The refused refund is back in the queue, with the bank's reason; its money in suspense.
    q = (await client.get("/api/v1/bank/suspense", headers=bearer(op_a))).json()
    assert sorted((i["amount"]["amount"], i["reason"]) for i in q) == [
        ("70.00", "no_reference"),
        ("90.00", "refund_failed"),
    ]
    r = await upload(client, op_a, answer.statement, answer.statement_name)
    assert (r.json()["lines"], r.json()["booked"]) == (1, 1), r.text
    [cny] = (await client.get("/api/v1/bank/safeguarding", headers=bearer(op_b))).json()
    assert cny["unexplained"]["amount"] == "0.00"
    assert cny["lines"]["suspense"]["amount"] == "160.00"
    assert cny["lines"]["payouts_in_transit"]["amount"] == "0.00"


async def test_an_instruction_finished_another_way_is_never_sent(client, app):
    """A withdrawal settled while its instruction waited (the demo's history does this) is not
    paid a second time: its instruction is cancelled when the next file is made."""
    from qianbao.rails.payouts import PayoutStatus
    from qianbao.wallet import payouts
    from qianbao.wallet.models import Withdrawal

    await _setup(app)
    op_a, _ = await staff_member(app, role="supervisor")
    _, ids = await _withdrawals(client, app)
    finished = ids["100.00"]
    async with app.state.db.transaction() as s:
        w = await s.get(Withdrawal, uuid.UUID(finished))
        await payouts.apply_payout_status(s, w, PayoutStatus("settled"))
    listed = (await client.get("/api/v1/bank/payout-batches", headers=bearer(op_a))).json()
    assert listed["queued"] == 2
    made = await client.post("/api/v1/bank/payout-batches", headers=bearer(op_a))
    assert made.status_code == 201, made.text
    [batch] = made.json()
    assert batch["count"] == 2 and batch["control_sum"]["amount"] == "500.00", batch
    async with app.state.db.transaction() as s:
        rows = await s.execute(select(BankPayout.reference, BankPayout.status))
        states = {reference: status for reference, status in rows}
    assert states[finished] == "cancelled"
    assert sorted(v for k, v in states.items() if k != finished) == ["batched", "batched"]


async def test_a_merchants_settlement_is_paid_when_the_bank_says_so(client, app, clock):
    """A merchant's settlement leaves in the pain.001 like a withdrawal, and the bank's
    pain.002 settles it at once (not at the settlement run's next poll): the merchant's money is
    no longer held, and the books show nothing in transit."""
    from datetime import datetime

    from qianbao.kernel.clock import LOCAL_TZ
    from qianbao.merchants import settlement
    from qianbao.rails import factory as rails
    from tests.integration.test_merchant_settlement import _pay
    from tests.support.merchants import make_merchant, merchant_balance

    clock.freeze(datetime(2026, 12, 10, 10, tzinfo=LOCAL_TZ))  # a Thursday
    await _setup(app)
    op_a, _ = await staff_member(app, role="supervisor")
    op_b, _ = await staff_member(app, role="admin")
    shop = await make_merchant(app)
    _, token, _ = await ready_user(client, app, minor=500_00)
    await _pay(client, shop, token, "100.00")  # fee 0.60
    clock.freeze(datetime(2026, 12, 11, 9, tzinfo=LOCAL_TZ))
    async with app.state.db.transaction() as s:
        made = await settlement.run(s, app.state.settings, rails.payouts(app.state.settings))
    assert made == 1
    await deliver(app)  # the job that instructs the payout: a queued bank instruction
    made = await client.post("/api/v1/bank/payout-batches", headers=bearer(op_a))
    [batch] = made.json()
    assert batch["control_sum"]["amount"] == "99.40", batch
    r = await client.post(
        f"/api/v1/bank/payout-batches/{batch['id']}/approve", headers=bearer(op_b)
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/bank/payout-batches/{batch['id']}/release", headers=bearer(op_a)
    )
    assert r.status_code == 200, r.text
    async with app.state.db.transaction() as s:
        answer = await demo_bank.answer(s, app.state.settings, uuid.UUID(batch["id"]))
    r = await upload(client, op_a, answer.status_report, answer.status_name)
    assert r.status_code == 201 and r.json()["settled"] == 1, r.text
    (paid,) = (await client.get("/api/v1/merchant/settlements", headers=shop.headers)).json()
    assert paid["status"] == "paid", paid
    assert await merchant_balance(app, shop.id) == (0, 0)
    r = await upload(client, op_a, answer.statement, answer.statement_name)
    assert r.status_code == 201, r.text
    [cny] = (await client.get("/api/v1/bank/safeguarding", headers=bearer(op_b))).json()
    assert cny["unexplained"] == {"amount": "0.00", "currency": "CNY"}
    assert cny["lines"]["payouts_in_transit"]["amount"] == "0.00", cny
