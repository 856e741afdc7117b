"""Top-up through the sandbox bank's page and withdrawal with its fee, code, PIN and timeline, in
a real browser; a large withdrawal approved by an operator on the operations page (a second
browser context); both languages at phone width.

The pages are opened on http://localhost:<port> and no public URL is configured: the sandbox
bank's page, its way back and its signed callback must stay on the deployment the browser is
on (also on a second server on a port of its own), and a top-up waiting for the bank is shown as
waiting, not as money in."""

from __future__ import annotations

import asyncio
import re
import time

import pyotp
import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from qianbao.kernel.db import Database
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, e164, new_phone
from tests.support.pages import (
    alert_text,
    no_sideways_scroll,
    notice_text,
    script_errors,
    shot,
    sign_in,
    sign_up,
)
from tests.support.secrets import remember
from tests.support.wallet import CARD_DECLINED, CARD_OK, PIN
from tests.web.test_wallet_pages import _fund_and_pin

pytestmark = pytest.mark.browser

TEXT = {
    "zh_CN": {
        "cards": "银行卡",
        "send_me_code": "发送验证码",
        "bind": "绑定",
        "topup": "充值",
        "go_bank": "前往银行确认",
        "confirm_pay": "确认付款",
        "arrived": "资金已到账",
        "declined": "银行拒绝了这张卡",
        "withdraw": "提现",
        "next_fee": "下一步：查看手续费",
        "requested": "提现申请已提交",
        "paid_out": "已打款",
        "in_review": "等待审核",
        "waiting_bank": "等待银行确认",
    },
    "en": {
        "cards": "Bank cards",
        "send_me_code": "Send me a code",
        "bind": "Bind",
        "topup": "Top up",
        "go_bank": "Continue to my bank",
        "confirm_pay": "Confirm the payment",
        "arrived": "The money is in your wallet",
        "declined": "the bank declined the card",
        "withdraw": "Withdraw",
        "next_fee": "Next: see the fee",
        "requested": "Your withdrawal is on its way",
        "paid_out": "Paid out",
        "in_review": "Waiting for review",
        "waiting_bank": "Waiting for the bank",
    },
}


def _bind(page, server, phone: str, number: str, locale: str) -> None:
    t = TEXT[locale]
    page.goto("/wallet/cards")
    seen = len(server.sms(e164(phone)))
    page.get_by_role("button", name=t["send_me_code"]).click()
    code = server.wait_for_code(e164(phone), seen)
    page.locator("#card-number").fill(number)
    page.locator("#card-holder").fill("测试用户")
    page.locator("#card-code").fill(code)
    page.locator("#card-pin").fill(PIN)
    page.get_by_role("button", name=t["bind"], exact=True).click()
    page.wait_for_url(re.compile(r".*/wallet/cards\?notice=card_bound(#bind)?$"))


def _top_up(page, server, locale: str, amount: str, shots: str | None = None) -> None:
    """From the wallet through the sandbox bank's page and back, on the browser's own origin:
    while the bank has not answered, the wallet lists the top-up as waiting (grey, no "+");
    once confirmed, the status page says the money arrived and the wallet lists it as in."""
    t = TEXT[locale]
    page.goto("/wallet")
    page.locator(".quick").get_by_role("link", name=t["topup"], exact=True).click()
    page.locator("#topup-amount").fill(amount)
    page.locator("#topup-pin").fill(PIN)
    if shots:
        shot(page, f"wallet-topup-{shots}")
    page.get_by_role("button", name=t["go_bank"]).click()
    # Same origin as the page (the CSP allows form redirects to 'self' only).
    page.wait_for_url(
        re.compile(re.escape(server.url) + r"/sandbox/pay/[0-9a-f-]+$"), timeout=10_000
    )
    bank_page = page.url
    assert "•••• 4242" in page.content()
    no_sideways_scroll(page)
    if shots:
        shot(page, f"sandbox-bank-{shots}")

    page.goto("/wallet")
    line = page.locator(".tx-list li").first
    assert t["waiting_bank"] in line.inner_text()
    shown = line.locator(".tx-amount").inner_text().strip()
    assert amount in shown and not shown.startswith("+"), shown
    assert "muted" in (line.locator(".tx-amount").get_attribute("class") or "")
    if shots:
        shot(page, f"wallet-topup-pending-{shots}")

    page.goto(bank_page)
    page.get_by_role("button", name=t["confirm_pay"]).click()
    page.wait_for_url(re.compile(re.escape(server.url) + r"/wallet/topup/[0-9a-f-]+$"))
    # The page refreshes itself until the bank's callback has credited the wallet.
    page.wait_for_selector(f"text={t['arrived']}", timeout=15_000)
    if shots:
        shot(page, f"wallet-topup-done-{shots}")
    page.goto("/wallet")
    line = page.locator(".tx-list li").first
    assert t["waiting_bank"] not in line.inner_text()
    assert line.locator(".tx-amount.in").inner_text().strip().startswith("+")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_top_up_through_the_sandbox_bank(open_page, server, locale):
    t = TEXT[locale]
    page = open_page(locale=locale)
    assert server.url.startswith("http://localhost:")
    assert server.app.state.settings.http.public_url is None
    phone = sign_up(page, server, locale)
    _fund_and_pin(server, phone, 0)
    _bind(page, server, phone, CARD_OK, locale)
    _top_up(page, server, locale, "100", shots=locale)
    assert "100.00" in page.locator(".bal").inner_text()
    assert script_errors(page) == []  # no CSP violation on the way

    # A declined card: the top-up fails with the reason, nothing is added.
    _bind(page, server, phone, CARD_DECLINED, locale)
    page.goto("/wallet/topup")
    page.locator("label.choice", has_text="0002").click()
    page.locator("#topup-amount").fill("30")
    page.locator("#topup-pin").fill(PIN)
    page.get_by_role("button", name=t["go_bank"]).click()
    page.get_by_role("button", name=t["confirm_pay"]).click()
    page.wait_for_selector(f"text={t['declined']}", timeout=15_000)
    page.goto("/wallet")
    assert "100.00" in page.locator(".bal").inner_text()


def test_top_up_on_a_server_on_another_port_without_a_public_url(browser, other_port_server):
    """A second deployment on a port of its own, configured by QIANBAO_HTTP__PORT only: the
    sandbox bank's page and its way back stay on that origin, and the in-process worker's signed
    callback reaches that port (the wallet is credited)."""
    server = other_port_server
    assert server.app.state.settings.http.public_url is None
    assert server.app.state.settings.http.port != 8000
    context = browser.new_context(
        base_url=server.url, locale="en-US", viewport={"width": 375, "height": 812}
    )
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    try:
        phone = sign_up(page, server, "en")
        _fund_and_pin(server, phone, 0)
        _bind(page, server, phone, CARD_OK, "en")
        _top_up(page, server, "en", "12")
        assert "12.00" in page.locator(".bal").inner_text()
        assert script_errors(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_withdraw_with_fee_code_pin_and_timeline(open_page, server, locale):
    t = TEXT[locale]
    page = open_page(locale=locale)
    phone = sign_up(page, server, locale)
    _fund_and_pin(server, phone, 50_000)
    _bind(page, server, phone, CARD_OK, locale)
    page.goto("/wallet")
    page.get_by_role("link", name=t["withdraw"], exact=True).click()
    shot(page, f"wallet-withdraw-{locale}")
    page.locator("#withdraw-amount").fill("600")  # + fee 1.60 > 500.00 available
    page.get_by_role("button", name=t["next_fee"]).click()
    seen = len(server.sms(e164(phone)))
    page.locator("#withdraw-amount").fill("100")
    page.get_by_role("button", name=t["next_fee"]).click()
    assert "1.10" in page.locator("#withdraw-fee").inner_text()
    assert "101.10" in page.locator("#withdraw-total").inner_text()
    assert page.locator("#withdraw-arrival").inner_text().strip()
    code = server.wait_for_code(e164(phone), seen)
    assert "100.00" in server.sms(e164(phone))[-1]  # the SMS names the amount it confirms
    no_sideways_scroll(page)
    shot(page, f"wallet-withdraw-confirm-{locale}")
    page.locator("#withdraw-code").fill(code)
    page.locator("#withdraw-pin").fill("000000" if PIN != "000000" else "111111")
    page.locator("form[action='/wallet/withdraw'] button[type=submit]").click()
    assert alert_text(page)  # the wrong PIN, on the same step
    page.locator("#withdraw-code").fill(code)
    page.locator("#withdraw-pin").fill(PIN)
    page.locator("form[action='/wallet/withdraw'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/wallet/withdrawals/[0-9a-f-]+\?notice=withdrawal_requested$"))
    assert t["requested"] in notice_text(page)
    deadline = time.monotonic() + 15
    while t["paid_out"] not in page.locator("#withdrawal-status").inner_text():
        assert time.monotonic() < deadline, page.locator("#withdrawal-timeline").inner_text()
        time.sleep(0.5)
        page.reload()
    assert len(page.locator("#withdrawal-timeline li").all()) == 4
    shot(page, f"wallet-withdrawal-timeline-{locale}")
    page.goto("/wallet")
    assert "398.90" in page.locator(".bal").inner_text()


def _supervisor(server) -> tuple[str, str]:
    """A supervisor with two-step verification on; returns (phone, TOTP secret)."""
    phone, secret = new_phone(), pyotp.random_base32()
    remember(secret)

    async def go() -> None:
        db = Database(server.app.state.db.url)
        ctx: IdentityContext = server.app.state.identity
        try:
            async with db.transaction() as s:
                user = await id_accounts.create_staff(
                    s,
                    ctx,
                    phone_raw=phone,
                    password=STRONG_PASSWORD,
                    role="supervisor",
                    name="审核员",
                )
                user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
                user.totp_enabled_at = ctx.clock.now()
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())
    return phone, secret


def _restrict(server, phone: str) -> None:
    from qianbao.risk import restrictions

    async def go() -> None:
        db = Database(server.app.state.db.url)
        try:
            async with db.transaction() as s:
                user = await id_accounts.by_phone(s, e164(phone))
                await restrictions.restrict(s, user.id, "velocity", "test: 31 in 600 s")
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())


def test_large_withdrawal_reviewed_by_an_operator(open_page, server):
    t = TEXT["zh_CN"]
    customer = open_page(locale="zh_CN")
    phone = sign_up(customer, server, "zh_CN")
    _fund_and_pin(server, phone, 500_000)
    _bind(customer, server, phone, CARD_OK, "zh_CN")
    customer.goto("/wallet/withdraw")
    seen = len(server.sms(e164(phone)))
    customer.locator("#withdraw-amount").fill("1500")
    customer.get_by_role("button", name=t["next_fee"]).click()
    assert customer.locator(".notice-box").first.is_visible()
    code = server.wait_for_code(e164(phone), seen)
    customer.locator("#withdraw-code").fill(code)
    customer.locator("#withdraw-pin").fill(PIN)
    customer.locator("form[action='/wallet/withdraw'] button[type=submit]").click()
    customer.wait_for_url(re.compile(r".*/wallet/withdrawals/.*"))
    assert t["in_review"] in customer.locator("#withdrawal-status").inner_text()

    # The operator, in another browser context, signs in with the authenticator code.
    operator = open_page(locale="en", viewport="desktop")
    staff_phone, secret = _supervisor(server)
    sign_in(operator, staff_phone)
    operator.wait_for_url("**/login/2fa**")
    operator.locator("#twofa-code").fill(pyotp.TOTP(secret).now())
    operator.get_by_role("button", name="Continue").click()
    operator.wait_for_load_state()
    operator.goto("/ops/wallet")
    queue = operator.locator("#review-queue")
    assert "1,500.00" in queue.inner_text()
    shot(operator, "ops-wallet-en")
    row = queue.locator("tr", has_text="1,500.00")
    row.get_by_role("button", name="Reject").click()
    assert "at least 5 characters" in alert_text(operator)
    row = operator.locator("#review-queue tr", has_text="1,500.00")
    row.get_by_role("button", name="Approve").click()
    operator.wait_for_url("**/ops/wallet?notice=withdrawal_approved")
    assert "1,500.00" not in (
        operator.locator("#review-queue").inner_text()
        if operator.locator("#review-queue").count()
        else ""
    )

    deadline = time.monotonic() + 15
    while t["paid_out"] not in customer.locator("#withdrawal-status").inner_text():
        assert time.monotonic() < deadline
        time.sleep(0.5)
        customer.reload()

    # A restricted account (very frequent transactions) is listed; the operator lifts it.
    _restrict(server, phone)
    customer.goto("/wallet/withdraw")
    customer.locator("#withdraw-amount").fill("10")
    customer.get_by_role("button", name=t["next_fee"]).click()
    assert "联系客服" in alert_text(customer)  # at once, before any code is sent
    operator.goto("/ops/wallet")
    row = operator.locator("#restrictions tr", has_text=phone[-4:])
    row.locator("input[name=note]").fill("Called the customer, all fine")
    row.get_by_role("button", name="Lift").click()
    operator.wait_for_url("**/ops/wallet?notice=restriction_lifted")
    assert operator.locator("#restrictions").count() == 0

    # A customer cannot open the operations page.
    customer.goto("/ops/wallet")
    assert "/ops/wallet" in customer.url
    assert customer.locator("#review-queue").count() == 0
