"""Issue 15's path in a real browser, in Chinese at phone width: someone on a new phone sends
money from the account; the larger transfer is held and the owner answers "不是我" (the account is
frozen and a case opened); the owner claims the smaller one that went through; an agent
recommends a refund, a different supervisor approves it, and the money comes back from the
recipient's held funds — both histories show it."""

from __future__ import annotations

import re

import pytest

from tests.support.pages import (
    no_sideways_scroll,
    notice_text,
    script_errors,
    shot,
    sign_in,
    sign_up,
)
from tests.web.test_console_pages import _sign_in_with_code, _staff
from tests.web.test_risk_pages import _start_transfer
from tests.web.test_wallet_pages import PIN, _fund_and_pin

pytestmark = pytest.mark.browser


def test_held_no_then_a_claim_refunded_from_the_recipients_held_money(open_page, server):
    receiver_page = open_page()
    receiver = sign_up(receiver_page, server, "zh_CN")
    _fund_and_pin(server, receiver, 0)
    owner = open_page()
    sender = sign_up(owner, server, "zh_CN")
    _fund_and_pin(server, sender, 500_000)

    # Someone else, on a new phone: 800 goes through, 3,000 is held.
    thief = open_page()
    sign_in(thief, sender)
    thief.wait_for_url(lambda url: "/login" not in url)
    _start_transfer(thief, receiver, "800")
    thief.wait_for_url("**/wallet/tx/**")
    _start_transfer(thief, receiver, "3000")
    thief.wait_for_url("**/wallet/held/**")

    # The owner gets the "Was this you?" and says No: cancelled, frozen, a case opened.
    owner.goto("/wallet")
    owner.locator(".held-alert a").click()
    owner.locator("#held-no button[type=submit]").click()
    owner.wait_for_url("**notice=held_denied")
    owner.goto("/wallet")
    assert "您的账户已冻结" in owner.locator(".banner").first.inner_text()
    assert "4,200.00" in owner.locator(".bal-amount").first.inner_text()

    # The 800 that went through: claimed from its page.
    owner.goto("/wallet/history")
    owner.locator("a.tx").filter(has_text="800.00").first.click()
    owner.locator("#tx-claim").click()
    owner.locator("#claim-what").fill("我的手机被别人拿走了，这笔转账不是我转的")
    owner.locator("input[name=shared][value=nothing]").check()
    no_sideways_scroll(owner)
    shot(owner, "dispute-claim-zh")
    owner.get_by_role("button", name="提交申诉").click()
    owner.wait_for_url("**/wallet/cases/**")
    assert "我们会在每一步通知您" in notice_text(owner)
    assert "800.00" in owner.locator("#case-held").inner_text()
    case_url = owner.url.split("?")[0]
    reference = re.search(r"D\d{14}", owner.locator("h1").inner_text()).group(0)
    shot(owner, "dispute-case-open-zh")
    receiver_page.goto("/wallet")
    # Held: the recipient can no longer spend it.
    assert receiver_page.locator(".bal-amount").first.inner_text().strip() == "¥0.00"

    # The agent recommends a refund; a supervisor approves it.
    agent_phone, agent_secret = _staff(server, "support_agent", "客服小张")
    agent = open_page(viewport="desktop")
    _sign_in_with_code(agent, agent_phone, agent_secret, "继续")
    agent.goto("/console/cases")
    agent.get_by_role("link", name=reference).click()
    assert "我的手机被别人拿走了" in agent.locator("#case-claim").inner_text()
    agent.locator("#case-note").fill("新设备登录后 10 分钟内转出，客户未泄露验证码")
    agent.get_by_role("button", name="提出建议").click()
    agent.wait_for_url("**notice=recommended")
    boss_phone, boss_secret = _staff(server, "supervisor", "主管老赵")
    boss = open_page(viewport="desktop")
    _sign_in_with_code(boss, boss_phone, boss_secret, "继续")
    boss.goto(agent.url.split("?")[0])
    boss.locator("#case-reason").fill("这笔转账不是您本人操作，款项已退回。")
    boss.get_by_role("button", name="批准").click()
    boss.wait_for_url("**notice=decided")
    shot(boss, "dispute-console-decided")

    owner.goto(case_url)
    assert "已退回" in owner.locator("#case-status").inner_text()
    assert "800.00" in owner.locator("#case-refunded").inner_text()
    assert "款项已退回" in owner.locator("#case-reason").inner_text()
    shot(owner, "dispute-case-refunded-zh")
    owner.goto("/wallet")
    assert "5,000.00" in owner.locator(".bal-amount").first.inner_text()
    receiver_page.goto("/wallet/history")
    assert "退款" in receiver_page.locator(".tx-list").inner_text()
    receiver_page.goto("/wallet")
    assert receiver_page.locator(".bal-amount").first.inner_text().strip() == "¥0.00"
    assert script_errors(owner) == [] and script_errors(boss) == []


def test_sent_to_the_wrong_person_and_sent_back_with_one_tap(open_page, server):
    receiver_page = open_page()
    receiver = sign_up(receiver_page, server, "zh_CN")
    _fund_and_pin(server, receiver, 0)
    sender_page = open_page()
    sender = sign_up(sender_page, server, "zh_CN")
    _fund_and_pin(server, sender, 100_000)
    _start_transfer(sender_page, receiver, "66")
    sender_page.wait_for_url("**/wallet/tx/**")
    sender_page.locator("#tx-mistaken").click()
    sender_page.locator("#mistaken-note").fill("不好意思，转错了")
    no_sideways_scroll(sender_page)
    sender_page.get_by_role("button", name="请求退回").click()
    sender_page.wait_for_url("**/wallet/cases/**")
    assert "等待收款人退回" in sender_page.locator("#case-status").inner_text()

    receiver_page.goto("/wallet")
    assert "有人请求您退回" in receiver_page.locator(".return-alert").inner_text()
    receiver_page.locator(".return-alert a").click()
    assert "不好意思，转错了" in receiver_page.locator(".facts").inner_text()
    no_sideways_scroll(receiver_page)
    shot(receiver_page, "mistaken-return-zh")
    receiver_page.locator("#return-pin").fill(PIN)
    receiver_page.locator("#return-yes button[type=submit]").click()
    receiver_page.wait_for_url("**notice=returned")
    assert "钱已退回" in notice_text(receiver_page)
    sender_page.reload()
    assert "已退回给您" in sender_page.locator("#case-status").inner_text()
    sender_page.goto("/wallet")
    assert "1,000.00" in sender_page.locator(".bal-amount").first.inner_text()


def test_a_claim_on_a_shop_payment_answered_by_the_shop_and_charged_back(open_page, server):
    from tests.web.test_merchant_pages import (
        _customer,
        _merchant_available,
        _pay,
        _shop,
        _sign_in_staff,
        _wallet,
    )
    from tests.web.test_merchant_pages import _staff as _merchant_staff

    shop = _shop(server, "街角咖啡", "Corner Coffee")
    owner = open_page()
    phone = _customer(owner, server, "zh_CN", 200_00)
    _pay(server, shop, phone, "88.00")
    _pay(server, shop, phone, "20.00")  # the shop has more than this claim
    before = _merchant_available(server, shop)

    # The customer claims the 88.00 from the payment's page.
    owner.goto("/wallet/history")
    owner.locator("a.tx").filter(has_text="88.00").first.click()
    owner.locator("#tx-claim").click()
    owner.locator("#claim-what").fill("我没有在这家店消费过")
    owner.get_by_role("button", name="提交申诉").click()
    owner.wait_for_url("**/wallet/cases/**")
    reference = re.search(r"D\d{14}", owner.locator("h1").inner_text()).group(0)
    assert "已通知商户" in owner.locator("#case-timeline").inner_text()

    # The shop sees the dispute on its dashboard and answers.
    staff_phone, staff_secret = _merchant_staff(server, shop)
    desk = open_page(viewport="desktop")
    _sign_in_staff(desk, staff_phone, staff_secret)
    desk.goto("/merchant/disputes")
    item = desk.locator(f"#dispute-{reference}")
    assert "88.00" in item.inner_text()
    item.locator("textarea").fill("顾客当面取走了拿铁，有监控录像")
    item.get_by_role("button", name="提交答复").click()
    desk.wait_for_url("**/merchant/disputes?done=dispute_answered")
    shot(desk, "merchant-disputes")

    # An agent reads the answer and recommends; a supervisor upholds the claim.
    agent_phone, agent_secret = _staff(server, "support_agent", "客服小周")
    agent = open_page(viewport="desktop")
    _sign_in_with_code(agent, agent_phone, agent_secret, "继续")
    agent.goto("/console/cases")
    agent.get_by_role("link", name=reference).click()
    assert "有监控录像" in agent.locator("#case-merchant-answer").inner_text()
    agent.locator("#case-note").fill("客户设备被盗后的消费")
    agent.get_by_role("button", name="提出建议").click()
    agent.wait_for_url("**notice=recommended")
    boss_phone, boss_secret = _staff(server, "supervisor", "主管老钱")
    boss = open_page(viewport="desktop")
    _sign_in_with_code(boss, boss_phone, boss_secret, "继续")
    boss.goto(agent.url.split("?")[0])
    boss.locator("#case-reason").fill("这笔消费不是您本人所为，已从商户退回。")
    boss.get_by_role("button", name="批准").click()
    boss.wait_for_url("**notice=decided")

    assert _merchant_available(server, shop) == before - 88_00  # charged back
    assert _wallet(server, phone) == 200_00 - 20_00
    desk.goto("/merchant/disputes")
    assert "88.00" in desk.locator(f"#dispute-{reference} .dispute-status").inner_text()
    owner.reload()
    assert "已退回" in owner.locator("#case-status").inner_text()
