"""Spending insights and budgets in a real browser (B13), in Chinese at 375 px: the month's
charts and categories, a budget set with a bad amount (the form keeps what was typed and says
what is wrong under the field) then a good one, and the alert at 80 % after the next transfer —
on the budgets page and in the messages."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.identity import pin
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.wallet import transfer as wallet_transfer
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from tests.conftest import in_thread
from tests.support.identity import e164
from tests.support.pages import no_sideways_scroll, notice_text, rules_off_ctx, shot, sign_up
from tests.web.test_accessibility import SMALL_TARGETS, _axe

pytestmark = pytest.mark.browser
PIN = "583920"


def _run(server: Any, work: Any) -> None:
    async def go() -> None:
        db = server.database()
        try:
            async with db.transaction() as s:
                await work(s, db)
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())


def _fund(server: Any, phone: str, minor: int) -> None:
    async def work(s: Any, db: Any) -> None:
        user = await id_accounts.by_phone(s, e164(phone))
        assert user is not None
        await pin.set_pin(s, server.app.state.identity, user, PIN)
        account = await wallet_account(s, user.id, "CNY")
        ledger = await Ledger.of_session(s)
        source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
        await ledger.post(
            transfer(f"fund-{user.id}", debit_account_id=source, credit_account_id=account.id,
                     amount=minor, currency="CNY")
        )  # fmt: skip
        # A coffee at a café this month (a shop payment's history row; the shop is not needed
        # for the charts).
        now = db.clock.now()
        s.add(
            WalletTransaction(
                user_id=user.id, account_id=account.id, kind="payment", direction="out",
                currency="CNY", amount=32_00, counterparty_name="钱包咖啡",
                reference=uuid.uuid4().hex[:20], details={"category": "5814"},
                created_at=now, listed_at=now,
            )
        )  # fmt: skip

    _run(server, work)


def _send(server: Any, phone: str, to: str, amount: str) -> None:
    async def work(s: Any, db: Any) -> None:
        user = await id_accounts.by_phone(s, e164(phone))
        assert user is not None
        await wallet_transfer.send(
            s, rules_off_ctx(server, db), user, to=to, amount=Money.parse(amount, "CNY"),
            note="聚餐", pin=PIN, key=uuid.uuid4().hex,
        )  # fmt: skip

    _run(server, work)


def test_charts_a_budget_and_its_alert_in_chinese_on_a_phone(open_page, server):
    friend = sign_up(open_page(), server, "zh_CN")
    page = open_page()
    me = sign_up(page, server, "zh_CN")
    _fund(server, me, 1000_00)
    _send(server, me, friend, "120.00")

    page.goto("/wallet/insights")
    assert page.locator("h1").inner_text() == "支出分析"
    assert page.locator("[data-spend-total]").inner_text() == "¥152.00"
    donut = page.locator("svg.donut")
    assert donut.is_visible() and donut.bounding_box()["width"] > 150
    assert donut.locator("circle.seg").count() == 2
    assert "78.9%转账给他人" in donut.text_content()  # the largest share in the ring's middle
    rows = page.locator(".cat-list .row")
    assert rows.count() == 2
    assert "转账给他人" in rows.nth(0).inner_text() and "¥120.00" in rows.nth(0).inner_text()
    assert "餐饮" in rows.nth(1).inner_text() and "21.1%" in rows.nth(1).inner_text()
    bars = page.locator("svg.bars")
    assert bars.is_visible() and bars.locator("a").count() == 6
    assert bars.locator("rect.bar.current").count() == 1
    no_sideways_scroll(page)
    assert _axe(page) == [] and page.evaluate(SMALL_TARGETS) == []
    shot(page, "insights-zh_CN")
    # A category opens its own rows in the bills, with a chip to show them all again.
    rows.nth(1).click()
    page.wait_for_url("**/wallet/history?*category=food*")
    assert "餐饮" in page.locator("#category-chip").inner_text()
    lines = page.locator(".tx-list .tx")
    assert lines.count() == 1 and "¥32.00" in lines.first.inner_text()  # not the transfer
    page.go_back()
    # The previous month: nothing yet, an empty state rather than a broken chart.
    page.get_by_role("link", name="上个月").click()
    assert page.locator("svg.donut.empty").is_visible()
    assert page.locator(".empty-title").is_visible()
    page.go_back()

    page.locator(".insights .page-head a", has_text="预算").click()
    page.wait_for_url("**/wallet/budgets**")
    assert page.locator("h1").inner_text() == "预算"
    page.locator("#budget-category").select_option("transfers")
    page.locator("#budget-amount").fill("150.555")
    page.get_by_role("button", name="保存预算").click()
    # Said under the field, in Chinese; what was typed and chosen is kept.
    assert "小数" in page.locator("#budget-amount-error").inner_text()
    assert page.locator("#budget-amount").input_value() == "150.555"
    assert page.locator("#budget-category").input_value() == "transfers"
    no_sideways_scroll(page)
    page.locator("#budget-amount").fill("150")
    page.get_by_role("button", name="保存预算").click()
    assert "转账给他人预算已保存" in notice_text(page)
    card = page.locator("#budget-transfers")
    assert "¥120.00 / ¥150.00" in card.inner_text() and "80%" in card.inner_text()
    assert page.locator(".budget-alert").count() == 0  # it comes with the next spending

    _send(server, me, friend, "8.00")  # 128 of 150: the worker writes the 80 % alert
    deadline = time.monotonic() + 20
    while page.locator(".budget-alert").count() == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    alert = page.locator(".budget-alert")
    assert alert.count() == 1
    assert "转账给他人" in alert.inner_text() and "80%" in alert.inner_text()
    assert "¥128.00" in alert.inner_text()
    assert page.locator("#budget-transfers progress.warn").is_visible()
    assert _axe(page) == [] and page.evaluate(SMALL_TARGETS) == []
    shot(page, "budgets-alert-zh_CN")
    page.goto("/inbox")
    assert "预算提醒" in page.locator("main").inner_text()

    # The same pages in English.
    page.goto("/lang/en?next=/wallet/insights")
    page.wait_for_url("**/wallet/insights")
    assert page.locator("h1").inner_text() == "Spending"
    assert "Transfers to people" in page.locator(".cat-list").inner_text()
    assert "Budgets this month" in page.locator("main").inner_text()
    no_sideways_scroll(page)
    shot(page, "insights-en")
