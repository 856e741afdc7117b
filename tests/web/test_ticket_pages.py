"""Tickets in a real browser: a customer opens a top-up ticket (category -> intake fields by
HTMX) with a screenshot; a support agent, signed in with an authenticator code in a second
browser context, finds it in the unassigned queue, adds an internal note and answers; the
customer sees the answer, not the note. Screenshots at phone (customer) and desktop (agent)."""

from __future__ import annotations

import asyncio
import re

import pyotp
import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, new_phone
from tests.support.pages import notice_text, script_errors, shot, sign_in, sign_up
from tests.support.secrets import remember

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _agent(server) -> tuple[str, str]:
    """A support agent with two-step verification on; returns (phone, TOTP secret)."""
    phone, secret = new_phone(), pyotp.random_base32()
    remember(secret)

    async def go() -> None:
        db = server.database()
        ctx: IdentityContext = server.app.state.identity
        try:
            async with db.transaction() as s:
                user = await id_accounts.create_staff(
                    s, ctx, phone_raw=phone, password=STRONG_PASSWORD, role="support_agent",
                    name="客服小王",
                )  # fmt: skip
                user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
                user.totp_enabled_at = ctx.clock.now()
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())
    return phone, secret


def test_customer_opens_a_ticket_and_an_agent_answers(open_page, server, tmp_path):
    customer = open_page(locale="zh_CN")
    sign_up(customer, server, "zh_CN")
    customer.goto("/support/tickets")
    assert "您还没有工单" in customer.locator("main").inner_text()
    customer.goto("/support/tickets/new")
    customer.locator("#ticket-category").select_option("topup")
    customer.wait_for_selector("#intake-amount")  # the category's own fields, by HTMX
    customer.locator("#intake-amount").fill("88.00")
    customer.locator("#intake-method").select_option("card")
    customer.locator("#ticket-subject").fill("充值未到账")
    customer.locator("#ticket-body").fill("我充值了 88 元，余额没有变化。<script>alert(1)</script>")
    screen = tmp_path / "screen.png"
    screen.write_bytes(PNG)
    customer.locator("#ticket-files").set_input_files(str(screen))
    shot(customer, "ticket-new-zh_CN")
    customer.locator("form[action='/support/tickets/new'] button[type=submit]").click()
    customer.wait_for_url(re.compile(r".*/support/tickets/T\d{8}-\d{6}\?notice=created"))
    reference = re.search(r"T\d{8}-\d{6}", customer.url).group(0)
    assert "工单已提交" in notice_text(customer)
    thread = customer.locator("#thread").inner_text()
    assert "<script>alert(1)</script>" in thread  # shown as text, never run
    assert "screen.png" in thread
    shot(customer, "ticket-customer-zh_CN")

    agent = open_page(locale="en", viewport="desktop")
    phone, secret = _agent(server)
    sign_in(agent, phone)
    agent.wait_for_url("**/login/2fa**")
    agent.locator("#twofa-code").fill(pyotp.TOTP(secret).at(server.clock.now()))
    agent.get_by_role("button", name="Continue").click()
    agent.wait_for_load_state()
    agent.goto("/console/tickets?queue=unassigned")
    agent.get_by_role("link", name="充值未到账").first.click()
    agent.wait_for_url(f"**/console/tickets/{reference}")
    # The customer's context opens inside the ticket view (loaded when asked for, audited).
    agent.locator(".customer-panel summary").click()
    agent.wait_for_selector(".customer-panel #customer-balances")
    assert "Recent security events" in agent.locator(".customer-panel").inner_text()
    shot(agent, "ticket-console-context-en")
    agent.locator(".customer-panel summary").click()
    agent.get_by_role("button", name="Assign to me").click()
    agent.locator("#reply-body").fill("Checked the acquirer log: callback delayed.")
    agent.locator("#reply-internal").check()
    agent.locator("#reply button[type=submit]").click()
    agent.wait_for_url(f"**/console/tickets/{reference}?notice=*")
    agent.locator("#reply-body").fill("The money arrived just now. Sorry for the wait!")
    agent.locator("#reply button[type=submit]").click()
    agent.wait_for_url(f"**/console/tickets/{reference}?notice=*")
    assert "Waiting for customer" in agent.locator("#ticket-status").inner_text()
    assert "Internal note" in agent.locator("#thread").inner_text()
    shot(agent, "ticket-console-en")

    customer.reload()
    thread = customer.locator("#thread").inner_text()
    assert "The money arrived just now." in thread
    assert "acquirer log" not in thread  # internal notes stay internal
    assert "等待客户回复" in customer.locator("#ticket-status").inner_text()
    customer.locator("#reply-body").fill("收到了，谢谢！")
    customer.locator("#reply button[type=submit]").click()
    customer.wait_for_url(f"**/support/tickets/{reference}?notice=replied*")
    assert "处理中" in customer.locator("#ticket-status").inner_text()
    shot(customer, "ticket-answered-zh_CN")
    assert script_errors(customer) == [] and script_errors(agent) == []
