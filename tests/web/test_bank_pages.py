"""Bank rails in a real browser, in Chinese on a phone: a customer reads their reference code
(with the QR of the details) at /wallet/bank-transfer; a supervisor imports the day's statement
at /ops/bank — the transfer carrying the code is credited, the one with a mistyped code waits in
suspense and is credited by hand with the customer's phone number and a reason; the customer
sees both arrive; the books show no unexplained difference."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta

import pytest

from qianbao.banking import accounts as receiving
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.rails.bankfiles.model import Statement, StatementEntry
from qianbao.rails.bankfiles.write import camt053
from qianbao.wallet.bank_reference import ALPHABET
from tests.conftest import in_thread
from tests.support.pages import notice_text, script_errors, shot, sign_up
from tests.web.test_console_pages import _sign_in_with_code, _staff

pytestmark = pytest.mark.browser


def _account(server) -> tuple[str, str]:
    code = f"WEB-{secrets.token_hex(3).upper()}"
    number = "6216" + "".join(secrets.choice("0123456789") for _ in range(15))

    async def go() -> None:
        db = server.database()
        try:
            async with db.transaction() as s:
                await receiving.add(
                    s, code=code, holder_name="钱包支付科技有限公司", bank_name="中国银行",
                    account_number=number, currency="CNY", bic="BKCHCNBJ",
                )  # fmt: skip
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())
    return code, number


def _statement(number: str, code: str, now: datetime) -> bytes:
    day = (now.astimezone(LOCAL_TZ) - timedelta(days=1)).date()
    wrong = code[:4] + next(c for c in ALPHABET if c != code[4]) + code[5:]

    def line(n: int, amount: int, memo: str) -> StatementEntry:
        return StatementEntry(
            line=0, bank_ref=f"WEB{number[-6:]}{n:04d}", amount=amount, direction="credit",
            currency="CNY", booking_date=day, value_date=day, remittance=memo,
            counterparty_name="张三", counterparty_account="6222020000000004242",
            bank_tx_code="PMNT/RCDT/DMCT",
        )  # fmt: skip

    entries = [line(1, 300_00, f"钱包充值 {code}"), line(2, 200_00, f"充值 {wrong}")]
    created = datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=18)
    return camt053(
        Statement(
            kind="camt.053", statement_id=f"STMT-{number[-8:]}", account=number, currency="CNY",
            created_at=created, from_date=day, to_date=day, opening=50_000_00,
            closing=50_000_00 + 500_00, entries=entries,
        ),
        message_id=f"MSG{number[-8:]}", created_at=created, account_name="钱包支付科技有限公司",
        bic="BKCHCNBJ",
    )  # fmt: skip


def test_a_transfer_with_the_code_is_credited_and_a_mistyped_one_matched_by_hand(
    open_page, server, tmp_path
):
    _, number = _account(server)
    customer = open_page(locale="zh_CN")
    phone = sign_up(customer, server, "zh_CN")
    customer.goto("/wallet/bank-transfer")
    code = customer.locator("#bank-reference").inner_text().strip()
    assert code.startswith("QB") and len(code) == 10
    customer.locator("details summary").first.click()  # the QR of the details
    assert customer.locator(".qr svg").first.is_visible()
    assert number[-4:] in customer.locator("main").inner_text().replace(" ", "")
    shot(customer, "bank-transfer-zh")

    supervisor = open_page(locale="zh_CN")
    sup_phone, secret = _staff(server, "supervisor", "财务小王")
    _sign_in_with_code(supervisor, sup_phone, secret, "继续")
    supervisor.goto("/ops/bank")
    statement = tmp_path / "statement.xml"
    statement.write_bytes(_statement(number, code, server.clock.now()))
    supervisor.locator("#statement-file").set_input_files(str(statement))
    supervisor.locator("form[action='/ops/bank/import'] button[type=submit]").click()
    supervisor.wait_for_load_state()
    result = supervisor.locator("#import-result").inner_text()
    assert "statement.xml" in result and "camt.053" in result
    rows = supervisor.locator("#suspense-queue tbody tr")
    mine = rows.filter(has_text="200.00")
    assert mine.count() == 1
    line_id = mine.first.get_attribute("id").removeprefix("line-")
    shot(supervisor, "ops-bank-suspense-zh")
    supervisor.locator(f"#who-{line_id}").fill(phone)
    supervisor.locator(f"#note-{line_id}").fill("附言识别码错一位，付款人与上一笔相同")
    supervisor.locator(f"form[action='/ops/bank/lines/{line_id}/credit'] button").click()
    supervisor.wait_for_load_state()
    assert notice_text(supervisor)
    assert supervisor.locator(f"#line-{line_id}").count() == 0  # it left the queue
    assert supervisor.locator("#resolved").filter(has_text="附言识别码错一位").count() == 1

    customer.goto("/wallet/bank-transfer")
    arrived = customer.locator("main").inner_text()
    assert "300.00" in arrived and "200.00" in arrived
    customer.goto("/wallet")
    assert "500.00" in customer.locator("main").inner_text()

    supervisor.goto("/ops/bank/books")
    assert supervisor.locator("[data-unexplained]").first.get_attribute("data-unexplained") == "0"
    shot(supervisor, "ops-bank-books-zh")
    assert script_errors(supervisor) == [] and script_errors(customer) == []
