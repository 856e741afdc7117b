"""The wallet pages in a real browser: home, sending money with the recipient check and the PIN,
the details page, history filters; Chinese and English at phone width."""

from __future__ import annotations

import re

import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.wallet.accounts import wallet_account
from tests.conftest import in_thread
from tests.support.identity import e164
from tests.support.pages import alert_text, no_sideways_scroll, notice_text, shot, sign_up

pytestmark = pytest.mark.browser
PIN = "583920"

TEXT = {
    "zh_CN": {
        "send": "转账",
        "next": "下一步",
        "confirm": "确认转账",
        "sent": "转账成功。",
        "sent_title": "转账成功",
        "insufficient": "余额不足",
        "history": "交易记录",
        "wrong_pin": "支付密码错误",
    },
    "en": {
        "send": "Send money",
        "next": "Next",
        "confirm": "Confirm the transfer",
        "sent": "Money sent.",
        "sent_title": "Money sent",
        "insufficient": "The balance is not enough",
        "history": "History",
        "wrong_pin": "The payment PIN is wrong",
    },
}


def _fund_and_pin(server, phone: str, amount: int) -> None:
    import asyncio

    from qianbao.identity import pin

    async def go() -> None:

        db = server.database()
        try:
            async with db.transaction() as s:
                user = await id_accounts.by_phone(s, e164(phone))
                assert user is not None
                await pin.set_pin(s, server.app.state.identity, user, PIN)
                account = await wallet_account(s, user.id, "CNY")
                if amount:
                    ledger = await Ledger.of_session(s)
                    source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
                    await ledger.post(
                        transfer(
                            f"fund-{user.id}",
                            debit_account_id=source,
                            credit_account_id=account.id,
                            amount=amount,
                            currency="CNY",
                        )
                    )
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_send_money_and_read_it_in_the_history(open_page, server, locale):
    t = TEXT[locale]
    receiver_page = open_page(locale=locale)
    receiver = sign_up(receiver_page, server, locale)
    _fund_and_pin(server, receiver, 0)
    page = open_page(locale=locale)
    sender = sign_up(page, server, locale)
    _fund_and_pin(server, sender, 10_000)
    page.goto("/wallet")
    assert "100.00" in page.locator(".bal-amount").first.inner_text()
    no_sideways_scroll(page)
    shot(page, f"wallet-home-{locale}")
    page.get_by_role("link", name=t["send"]).click()
    # The balance and the limits are shown before the user commits.
    assert "100.00" in page.locator("#transfer-available").inner_text()
    assert "5,000.00" in page.locator("#transfer-limits").inner_text()
    page.locator("#transfer-to").fill(receiver)
    page.locator("#transfer-amount").fill("150")
    page.get_by_role("button", name=t["next"]).click()
    # 150.00 > 100.00: said at once, under the amount, with what was typed kept.
    assert t["insufficient"] in page.locator("#transfer-amount-error").inner_text()
    assert page.locator("#transfer-amount").input_value() == "150"
    assert page.locator("#transfer-to").input_value() == receiver
    page.locator("#transfer-amount").fill("12.34")
    page.locator("#transfer-note").fill("午饭")
    page.get_by_role("button", name=t["next"]).click()
    assert page.locator("h1").inner_text() == t["confirm"]
    assert receiver[-4:] in page.locator(".payee").inner_text()
    shot(page, f"wallet-confirm-{locale}")
    page.locator("#transfer-pin").fill("000000")
    page.locator("form[action='/wallet/transfer'] button[type=submit]").click()
    assert t["wrong_pin"] in alert_text(page)
    page.locator("#transfer-pin").fill(PIN)
    page.locator("form[action='/wallet/transfer'] button[type=submit]").click()
    page.wait_for_url("**/wallet/tx/**")
    # The result page: a big tick, the amount, "finish" and "send another".
    assert page.locator("#result-title").inner_text() == t["sent_title"]
    assert "12.34" in page.locator(".result-amount").inner_text()
    assert page.locator("#result-again").get_attribute("href") == "/wallet/transfer"
    assert "午饭" in page.locator(".facts").inner_text()
    shot(page, f"wallet-sent-{locale}")
    page.goto("/wallet")
    assert "87.66" in page.locator(".bal-amount").first.inner_text()
    receiver_page.goto("/wallet")
    assert "12.34" in receiver_page.locator(".bal-amount").first.inner_text()
    assert "午饭" in receiver_page.locator(".tx-list").inner_text()
    page.goto("/wallet/history?q=午饭")
    assert page.locator(".tx").count() == 1
    href = page.locator("a[download]").get_attribute("href")
    exported = page.evaluate(
        "href => fetch(href).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)))",
        href,
    )
    text = bytes(exported).decode("utf-8")
    assert text.startswith("\ufeff")
    assert "12.34" in text and "午饭" in text
    page.goto("/wallet/history?direction=in")
    assert page.locator(".tx").count() == 0
    shot(page, f"wallet-history-{locale}")


def test_wallet_pages_need_a_signed_in_user(open_page):
    page = open_page(locale="en")
    page.goto("/wallet")
    page.wait_for_url("**/login?next=/wallet")


def test_bind_a_card_in_the_page(open_page, server):
    from stdnum import luhn

    page = open_page(locale="zh_CN")
    phone = sign_up(page, server, "zh_CN")
    _fund_and_pin(server, phone, 0)
    page.goto("/wallet")
    page.locator(".grid-actions").get_by_role("link", name="银行卡").click()
    seen = len(server.sms(e164(phone)))
    page.get_by_role("button", name="发送验证码").click()
    code = server.wait_for_code(e164(phone), seen)
    body = "6222021234567890"
    number = body + luhn.calc_check_digit(body)
    page.locator("#card-number").fill(number[:-1] + str((int(number[-1]) + 1) % 10))
    page.locator("#card-holder").fill("测试用户")
    page.locator("#card-code").fill(code)
    page.locator("#card-pin").fill(PIN)
    page.get_by_role("button", name="绑定", exact=True).click()
    assert "卡号或账号无效" in alert_text(page)
    page.locator("#card-number").fill(number)
    page.locator("#card-code").fill(code)
    page.locator("#card-pin").fill(PIN)
    page.get_by_role("button", name="绑定", exact=True).click()
    # (the browser keeps the form's #bind fragment across the redirect)
    page.wait_for_url(re.compile(r".*/wallet/cards\?notice=card_bound(#bind)?$"))
    assert "中国工商银行" in page.locator(".card-list").inner_text()
    assert f"•••• {number[-4:]}" in page.locator(".card-list").inner_text()
    assert number not in page.content()
    no_sideways_scroll(page)
    shot(page, "wallet-cards-zh_CN")


def test_messages_page_shows_the_transfer_and_saves_preferences(open_page, server):
    page = open_page(locale="en")
    sender = sign_up(page, server, "en")
    _fund_and_pin(server, sender, 5_000)
    other = open_page(locale="en")
    receiver = sign_up(other, server, "en")
    page.goto("/wallet/transfer")
    page.locator("#transfer-to").fill(receiver)
    page.locator("#transfer-amount").fill("3")
    page.get_by_role("button", name="Next").click()
    page.locator("#transfer-pin").fill(PIN)
    page.locator("form[action='/wallet/transfer'] button[type=submit]").click()
    page.wait_for_url("**/wallet/tx/**")
    import time

    for _ in range(50):  # the in-process worker writes the notifications after commit
        other.goto("/wallet")
        if other.locator(".grid-actions .dot-count").count():
            break
        time.sleep(0.2)
    assert other.locator(".grid-actions .dot-count").inner_text() == "1"
    other.get_by_role("link", name="Messages").click()
    assert "you received 3.00 CNY" in other.locator(".messages").inner_text()
    shot(other, "inbox-en")
    other.locator("input[name=sms_money]").uncheck()
    other.get_by_role("button", name="Save").click()
    assert "Saved." in notice_text(other)
    assert not other.locator("input[name=sms_money]").is_checked()
    assert other.locator("input[name=sms_support]").is_checked()  # customer service's: its own
    assert other.locator(".badge.warn").count() == 0  # read now
