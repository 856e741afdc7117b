"""The operator's merchant money report in a real browser, at phone width in Chinese: after a
payment and a partial refund the records and the ledger agree on every line; a customer is
refused, and sees the shop's name and category in the history."""

from __future__ import annotations

import asyncio
import uuid

import pyotp
import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.kernel.db import Database
from qianbao.kernel.money import Money
from qianbao.merchants import checkout, customer, onboarding, refunds
from tests.conftest import in_thread
from tests.support.identity import e164
from tests.support.merchants import uscc
from tests.support.pages import shot, sign_in, sign_up
from tests.support.wallet import PIN
from tests.web.test_wallet_pages import _fund_and_pin
from tests.web.test_wallet_payments import _supervisor

pytestmark = pytest.mark.browser


def _a_sale_and_a_refund(server, phone: str) -> None:
    async def go() -> None:
        db = Database(server.app.state.db.url)
        ctx = server.app.state.identity
        try:
            async with db.transaction() as s:
                shop = await onboarding.create(
                    s, ctx,
                    onboarding.Application(
                        name_zh="报表咖啡", name_en="Report Coffee", category="5814",
                        uscc=uscc(), settlement_number="DE89370400440532013000",
                        settlement_holder="Report Coffee",
                    ),
                    status="active",
                )  # fmt: skip
                cs, _ = await checkout.create_session(
                    s, ctx.settings, shop, amount=Money.parse("88.00", "CNY"), order_ref="R-1",
                    desc=None, success_url=None, cancel_url=None, expires_in_minutes=30,
                    key=uuid.uuid4().hex,
                )  # fmt: skip
                user = await id_accounts.by_phone(s, e164(phone))
                done, _ = await customer.pay_checkout(s, ctx, user, str(cs.id), pin=PIN)
                await refunds.refund(
                    s, ctx, shop, str(done.payment.id), amount=Money.parse("30.00", "CNY"),
                    reason="test", key=uuid.uuid4().hex,
                )  # fmt: skip
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())


def test_records_and_ledger_agree_on_the_operators_page(open_page, server):
    buyer = open_page(locale="zh_CN")
    phone = sign_up(buyer, server, "zh_CN")
    _fund_and_pin(server, phone, 500_00)
    _a_sale_and_a_refund(server, phone)
    # The customer's history names the shop and its category; the refund too.
    buyer.goto("/wallet/history")
    history = buyer.locator("main").inner_text()
    assert "向报表咖啡付款" in history and "报表咖啡退款" in history
    assert "快餐、咖啡和茶饮店" in history
    buyer.locator("a.tx", has_text="向报表咖啡付款").first.click()
    assert "报表咖啡" in buyer.locator("#tx-merchant").inner_text()
    assert buyer.locator("#tx-receipt").get_attribute("href").startswith("/pay/payments/")
    buyer.goto("/ops/merchants/money")
    assert buyer.locator("#money-checks").count() == 0  # a customer is refused

    operator = open_page(locale="zh_CN")  # a phone, in Chinese
    staff_phone, secret = _supervisor(server)
    sign_in(operator, staff_phone)
    operator.wait_for_url("**/login/2fa**")
    operator.locator("#twofa-code").fill(pyotp.TOTP(secret).now())
    operator.locator("form button[type=submit]").first.click()
    operator.wait_for_load_state()
    operator.goto("/ops/merchants/money")
    assert operator.locator("#money-ok").inner_text() == "全部一致"
    rows = operator.locator("#money-checks tbody tr")
    assert rows.count() == 5 and operator.locator("#money-checks tr.bad").count() == 0
    figures = operator.locator("#money-figures").inner_text()  # (other tests' shops too)
    assert "付款" in figures and "退款" in figures and "商户账户" in figures
    shot(operator, "ops-merchant-money-zh")
