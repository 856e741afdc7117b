"""Payout files through the pages, in Chinese on a phone (375 px), on a server paying out with
``payout_backend = "bank_file"``: two customers' approved withdrawals wait at /ops/bank/payouts;
a supervisor makes the pain.001 file and cannot approve it herself (the page offers no button and
the server refuses a forced form); an admin approves it; the supervisor releases and downloads
it — the file validates against the pain.001.001.09 XSD and its count and control sum match the
withdrawals. The development bank's pain.002 and next camt.053 statement, downloaded from the
same page, are imported at /ops/bank: the customers read "paid out" on their withdrawal pages and
in their history, and /ops/bank/books shows no unexplained difference."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmlschema
from stdnum import luhn

import qianbao.rails.bankfiles as bankfiles
from qianbao.banking import accounts as receiving
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.rails.bankfiles.model import Statement
from qianbao.rails.bankfiles.write import camt053
from qianbao.web.i18n import gettext
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, bearer, e164, new_phone
from tests.support.pages import no_sideways_scroll, notice_text, script_errors, shot, sign_in
from tests.support.wallet import CARD_OK, PIN
from tests.web.conftest import page_opener, pages_server
from tests.web.test_console_pages import _sign_in_with_code, _staff
from tests.web.test_wallet_pages import _fund_and_pin

pytestmark = pytest.mark.browser

XSD = Path(bankfiles.__file__).parent / "xsd" / "pain.001.001.09.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
OPENING = 100_000_00
HOLDER = "钱包支付科技有限公司"


def zh(message: str, **params: Any) -> str:
    return gettext("zh_CN", message) % params if params else gettext("zh_CN", message)


@pytest.fixture(scope="module")
def server(db_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of this file's own, paying withdrawals out by payout files (as ``make run``
    does): the shared one uses the development payout backend the wallet page tests expect."""
    with pages_server(db_factory, tmp_path_factory.mktemp("payouts")) as live:
        live.app.state.settings.payments.payout_backend = "bank_file"  # before any withdrawal
        yield live


@pytest.fixture
def open_page(browser: Any, server: Any) -> Iterator[Any]:
    yield from page_opener(browser, server)


# -- set-up: the receiving account, its first statement, customers withdrawing ---------------
def _receiving_account(server: Any) -> str:
    number = "6216" + "".join(secrets.choice("0123456789") for _ in range(15))

    async def go() -> None:
        db = server.database()
        try:
            async with db.transaction() as s:
                await receiving.add(
                    s, code="BOC-CNY-1", holder_name=HOLDER, bank_name="中国银行",
                    account_number=number, currency="CNY", bic="BKCHCNBJ",
                )  # fmt: skip
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())
    return number


def _opening_statement(number: str, now: datetime) -> bytes:
    """Yesterday's end-of-day statement: the account's balance before any payout."""
    day = (now.astimezone(LOCAL_TZ) - timedelta(days=1)).date()
    created = datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=18)
    return camt053(
        Statement(
            kind="camt.053", statement_id=f"STMT-{number[-8:]}", account=number, currency="CNY",
            created_at=created, from_date=day, to_date=day, opening=OPENING, closing=OPENING,
            entries=[],
        ),
        message_id=f"MSG{number[-8:]}", created_at=created, account_name=HOLDER, bic="BKCHCNBJ",
    )  # fmt: skip


def _card_number() -> str:
    """A Luhn-valid ICBC debit card the development bank pays (not ending in 0069 or 0077)."""
    body = "622202" + "".join(secrets.choice("0123456789") for _ in range(11)) + "1"
    return body + luhn.calc_check_digit(body)


def _customer_withdrawing(server: Any, card: str, amount: str) -> tuple[str, str]:
    """A customer signed up through the live server's API with ¥500.00 and a PIN, a card bound
    and a withdrawal of ``amount`` to it (approved at once: below the review threshold);
    returns (phone, withdrawal id)."""
    phone = new_phone()
    e164_phone = e164(phone)
    with httpx.Client(base_url=server.url, timeout=20) as api:

        def with_code(path: str, body: dict[str, Any], headers: dict[str, str]) -> str:
            seen = len(server.sms(e164_phone))
            r = api.post(path, json=body, headers=headers)
            assert r.status_code == 202, r.text
            return server.wait_for_code(e164_phone, seen)

        code = with_code("/api/v1/auth/signup/code", {"phone": phone}, {})
        r = api.post(
            "/api/v1/auth/signup",
            json={"phone": phone, "code": code, "password": STRONG_PASSWORD,
                  "password_confirm": STRONG_PASSWORD, "accept_terms": True},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        me = bearer(r.json()["token"])
        _fund_and_pin(server, phone, 500_00)
        code = with_code("/api/v1/wallet/cards/code", {}, me)
        r = api.post(
            "/api/v1/wallet/cards",
            json={"number": card, "holder_name": "测试用户", "pin": PIN, "code": code},
            headers=me,
        )
        assert r.status_code == 201, r.text
        quote = {"card_id": r.json()["id"], "amount": amount, "currency": "CNY"}
        code = with_code("/api/v1/wallet/withdrawals/code", quote, me)
        r = api.post(
            "/api/v1/wallet/withdrawals",
            json={**quote, "pin": PIN, "code": code},
            headers={**me, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201 and r.json()["status"] == "approved", r.text
        return phone, r.json()["id"]


# -- the pages -----------------------------------------------------------------------------
def _import(page: Any, path: Path) -> str:
    page.goto("/ops/bank")
    page.locator("#statement-file").set_input_files(str(path))
    page.locator("form[action='/ops/bank/import'] button[type=submit]").click()
    page.wait_for_load_state()
    result = page.locator("#import-result").inner_text()
    assert path.name in result, result
    return result


def _download(page: Any, link: Any, folder: Path) -> Path:
    with page.expect_download() as info:
        link.click()
    download = info.value
    path = folder / download.suggested_filename
    download.save_as(str(path))
    return path


def _wait_for_queued(page: Any, n: int) -> None:
    """The worker turns each approved withdrawal into a queued instruction within a moment."""
    deadline = time.monotonic() + 15
    page.goto("/ops/bank/payouts")
    while page.locator("#queued-count").inner_text().strip() != str(n):
        assert time.monotonic() < deadline, page.locator("#queued-count").inner_text()
        time.sleep(0.2)
        page.reload()


def _on_screen(page: Any, locator: Any) -> None:
    """Within the phone's width: not hidden beyond a table's own sideways scroll."""
    box = locator.bounding_box()
    assert box is not None, locator
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], box


def _check_pain001(path: Path, withdrawals: dict[str, str], cards: list[str]) -> None:
    """The downloaded file: valid against the ISO schema, its count and control sum (in the
    group header and in the payment information) those of the withdrawals it carries."""
    xmlschema.XMLSchema(str(XSD)).validate(str(path))
    data = path.read_bytes()
    root = ET.fromstring(data)
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    [info] = root.findall("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    amounts = [Decimal(a.text or "") for a in info.iterfind("p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS)]
    ids = [e.text for e in info.iterfind("p:CdtTrfTxInf/p:PmtId/p:EndToEndId", NS)]
    expected = sorted(Decimal(a) for a in withdrawals.values())
    assert sorted(amounts) == expected
    for node in (header, info):
        assert node is not None
        assert node.findtext("p:NbOfTxs", None, NS) == str(len(withdrawals))
        assert Decimal(node.findtext("p:CtrlSum", None, NS) or "") == sum(expected)
    assert sorted(ids) == sorted("QB" + uuid.UUID(w).hex.upper() for w in withdrawals)
    for card in cards:  # the whole account number, in the bank's file only
        assert card.encode() in data


def test_withdrawals_leave_in_a_payout_file_and_settle_from_the_banks_answer(
    open_page, server, tmp_path
):
    number = _receiving_account(server)
    card_b = _card_number()
    phone_a, wid_a = _customer_withdrawing(server, CARD_OK, "100.00")  # fee ¥1.10
    phone_b, wid_b = _customer_withdrawing(server, card_b, "250.00")  # fee ¥1.25
    withdrawals = {wid_a: "100.00", wid_b: "250.00"}

    supervisor = open_page(locale="zh_CN")
    sup_phone, sup_secret = _staff(server, "supervisor", "财务小王")
    _sign_in_with_code(supervisor, sup_phone, sup_secret, "继续")
    opening = tmp_path / "opening.xml"
    opening.write_bytes(_opening_statement(number, server.clock.now()))
    assert "camt.053" in _import(supervisor, opening)

    # The supervisor makes the file of the two withdrawals waiting.
    _wait_for_queued(supervisor, 2)
    assert supervisor.locator("h1").inner_text() == zh("Payout files")
    shot(supervisor, "ops-bank-payouts-queued-zh")
    supervisor.locator("form[action='/ops/bank/payouts/create'] button").click()
    supervisor.wait_for_url("**/ops/bank/payouts?notice=created")
    assert zh("The payout files are made. Another operator must approve each one.") in (
        notice_text(supervisor)
    )
    assert supervisor.locator("#queued-count").inner_text().strip() == "0"
    [row] = supervisor.locator("#payout-batches tbody tr").all()
    batch_id = (row.get_attribute("id") or "").removeprefix("batch-")
    cells = row.inner_text()
    assert "350.00" in cells and zh("Waiting for approval") in cells and "财务小王" in cells
    # Not by the operator who made it: no button, and a forced form is refused.
    assert row.locator("form").count() == 0
    assert zh("Another operator must approve it.") in cells
    shot(supervisor, "ops-bank-payouts-draft-zh")
    supervisor.evaluate(
        """id => {
            const form = document.querySelector("form[action='/ops/bank/payouts/create']");
            form.action = `/ops/bank/payouts/${id}/approve`;
            form.submit();
        }""",
        batch_id,
    )
    supervisor.wait_for_load_state()
    refused = supervisor.locator(".form-error[role=alert]").inner_text()
    assert refused == zh("Another operator must approve this: you proposed it.")
    assert zh("Waiting for approval") in supervisor.locator(f"#batch-{batch_id}").inner_text()

    # An admin approves it.
    admin = open_page(locale="zh_CN")
    admin_phone, admin_secret = _staff(server, "admin", "财务小陈")
    _sign_in_with_code(admin, admin_phone, admin_secret, "继续")
    admin.goto("/ops/bank/payouts")
    # Before approving, the approver sees what the file pays: each amount and masked account.
    listed = admin.locator(f"#batch-{batch_id} details.batch-items li")
    assert listed.count() == 2
    assert sorted(listed.all_inner_texts())[0].startswith("¥100.00")
    assert all("•••• " in text for text in listed.all_inner_texts())
    approve = admin.locator(f"form[action='/ops/bank/payouts/{batch_id}/approve'] button")
    _on_screen(admin, approve)
    approve.click()
    admin.wait_for_url(f"**/ops/bank/payouts?notice=approved#batch-{batch_id}")
    assert notice_text(admin)
    approved = admin.locator(f"#batch-{batch_id}").inner_text()
    assert zh("approved by %(name)s", name="财务小陈") in approved
    shot(admin, "ops-bank-payouts-approved-zh")

    # The supervisor releases it and downloads the pain.001 file for the bank.
    supervisor.goto("/ops/bank/payouts")
    release = supervisor.locator(f"form[action='/ops/bank/payouts/{batch_id}/release'] button")
    _on_screen(supervisor, release)
    release.click()
    supervisor.wait_for_url(f"**/ops/bank/payouts?notice=released#batch-{batch_id}")
    batch = supervisor.locator(f"#batch-{batch_id}")
    assert zh("Released to the bank") in batch.inner_text()
    shot(supervisor, "ops-bank-payouts-released-zh")
    download = batch.locator(f"a[href$='/{batch_id}/file']")
    _on_screen(supervisor, download)
    pain001 = _download(supervisor, download, tmp_path)
    _check_pain001(pain001, withdrawals, [CARD_OK, card_b])

    # The bank's answer (the development bank's, outside production): its pain.002, then the
    # next end-of-day statement, imported as a real bank's files are.
    status = _download(supervisor, batch.locator("a[href$='/bank-answer/status']"), tmp_path)
    statement = _download(supervisor, batch.locator("a[href$='/bank-answer/statement']"), tmp_path)
    said = zh(
        "The bank's status report on %(n)s payouts: %(settled)s paid, %(accepted)s accepted "
        "(not yet paid), %(rejected)s rejected (the money is back in the wallets), "
        "%(unknown)s not ours.",
        n=2, settled=2, accepted=0, rejected=0, unknown=0,
    )  # fmt: skip
    result = _import(supervisor, status)
    assert "pain.002" in result and said in result, result
    said = zh(
        "%(lines)s lines: %(credited)s credited to wallets, %(booked)s booked by rule, "
        "%(suspense)s to suspense, %(old)s already imported before.",
        lines=2, credited=0, booked=2, suspense=0, old=0,
    )  # fmt: skip
    result = _import(supervisor, statement)
    assert "camt.053" in result and said in result, result
    shot(supervisor, "ops-bank-imported-zh")

    # Each customer reads "paid out" on the withdrawal's page and in the wallet's history.
    for phone, wid, amount, left in ((phone_a, wid_a, "100.00", "398.90"),
                                     (phone_b, wid_b, "250.00", "248.75")):  # fmt: skip
        customer = open_page(locale="zh_CN")
        sign_in(customer, phone)
        customer.wait_for_url(re.compile(r".*/wallet\b.*"))
        customer.goto(f"/wallet/withdrawals/{wid}")
        assert customer.locator("#withdrawal-status").inner_text().strip() == "已打款"
        assert amount in customer.locator(".big").inner_text()
        timeline = customer.locator("#withdrawal-timeline").inner_text()
        assert "已打款" in timeline, timeline
        shot(customer, f"wallet-withdrawal-paid-{amount[:3]}-zh")
        customer.goto("/wallet")
        assert left in customer.locator(".bal").inner_text()
        history = customer.locator("main").inner_text()
        assert amount in history, history
        assert script_errors(customer) == []

    # The books: what the bank holds is what the ledger explains; the trial balance is zero.
    supervisor.goto("/ops/bank/books")
    report = supervisor.locator("#safeguarding-CNY")
    assert report.locator("[data-unexplained]").get_attribute("data-unexplained") == "0"
    assert f"{(OPENING - 350_00) / 100:,.2f}" in report.inner_text()
    assert supervisor.locator(".notice.error[role=alert]").count() == 0
    assert "0.00" in supervisor.locator("#trial-sum-CNY").inner_text()
    shot(supervisor, "ops-bank-books-paid-out-zh")
    no_sideways_scroll(admin)
    assert script_errors(supervisor) == [] and script_errors(admin) == []
