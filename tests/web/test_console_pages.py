"""The agent console in a real browser: a support agent signed in with an authenticator code
finds a customer by phone number from the desk, sees the customer's context, freezes the account
with a reason and sees the entry in the customer's audit trail; a supervisor finds it in the audit
log, opens the reports (tables and server-drawn SVG bars) and unfreezes the account with a note.
Screenshots at desktop size."""

from __future__ import annotations

import asyncio
import re

import pyotp
import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, new_phone
from tests.support.pages import alert_text, notice_text, script_errors, shot, sign_in, sign_up
from tests.support.secrets import remember

pytestmark = pytest.mark.browser
REASON = "Customer called: phone stolen on the metro"


def _staff(server, role: str, name: str) -> tuple[str, str]:
    """A staff member with two-step verification on; returns (phone, TOTP secret)."""
    phone, secret = new_phone(), pyotp.random_base32()
    remember(secret)

    async def go() -> None:
        db = server.database()
        ctx: IdentityContext = server.app.state.identity
        try:
            async with db.transaction() as s:
                user = await id_accounts.create_staff(
                    s, ctx, phone_raw=phone, password=STRONG_PASSWORD, role=role, name=name
                )
                user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
                user.totp_enabled_at = ctx.clock.now()
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())
    return phone, secret


def _seed_tickets(server, customer_phone: str, agent_phone: str) -> None:
    """A few answered, resolved and rated tickets so the reports have something to draw."""
    from datetime import timedelta

    from qianbao.support.console.models import Rating
    from qianbao.support.tickets.models import Ticket

    async def go() -> None:
        db = server.database()
        try:
            async with db.transaction() as s:
                user = await id_accounts.by_phone(s, "+86" + customer_phone)
                agent = await id_accounts.by_phone(s, "+86" + agent_phone)
                now = server.clock.now() - timedelta(hours=6)
                plan = [("topup", 35, 90, 5), ("topup", 80, 200, 4), ("withdrawal", 20, 60, 5),
                        ("security", 150, None, None), ("other", None, None, None)]  # fmt: skip
                for i, (category, frt, res, score) in enumerate(plan):
                    t = Ticket(
                        reference=f"T{now:%Y%m%d}-{900000 + i + int(customer_phone[-4:]) * 10}",
                        user_id=user.id, subject=f"Report sample {i}", category=category,
                        status="resolved" if res else "open",
                        assignee_id=agent.id if i < 4 else None,
                        first_response_due=now + timedelta(hours=8),
                        resolution_due=now + timedelta(days=3),
                        first_responded_at=now + timedelta(minutes=frt) if frt else None,
                        resolved_at=now + timedelta(minutes=res) if res else None,
                        created_at=now,
                    )  # fmt: skip
                    s.add(t)
                    await s.flush()
                    if score:
                        s.add(Rating(ticket_id=t.id, user_id=user.id, score=score))
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())


def _sign_in_with_code(page, phone: str, secret: str, button: str) -> None:
    sign_in(page, phone)
    page.wait_for_url("**/login/2fa**")
    page.locator("#twofa-code").fill(
        pyotp.TOTP(secret).now()
    )  # the server runs on the machine clock
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def test_agent_freezes_a_customer_and_a_supervisor_reads_audit_and_reports(open_page, server):
    customer = open_page(locale="zh_CN")
    customer_phone = sign_up(customer, server, "zh_CN")

    agent = open_page(locale="en", viewport="desktop")
    agent_phone, secret = _staff(server, "support_agent", "Agent Wang")
    _sign_in_with_code(agent, agent_phone, secret, "Continue")
    agent.goto("/console")
    assert agent.locator("#queue-unassigned").is_visible()
    shot(agent, "console-desk-en")
    agent.locator("#desk-q").fill(customer_phone)
    agent.get_by_role("button", name="Search").click()
    agent.wait_for_url(re.compile(r".*/console/customers/[0-9a-f-]{36}$"))
    facts = agent.locator("#customer-facts").inner_text()
    assert customer_phone[-4:] in facts and customer_phone not in facts  # masked
    assert "Verified customer" in agent.locator(".page-head").inner_text()
    assert "Viewed the customer" in agent.locator("#customer-audit").inner_text()
    shot(agent, "console-customer-en")

    agent.locator("#freeze-reason").fill("no")
    agent.locator("#freeze-reason").evaluate("e => e.removeAttribute('minlength')")
    agent.get_by_role("button", name="Freeze the account").click()
    assert "Give a reason" in alert_text(agent)
    assert agent.locator("#customer-frozen").count() == 0
    agent.locator("#freeze-reason").fill(REASON)
    agent.get_by_role("button", name="Freeze the account").click()
    agent.wait_for_url("**notice=frozen")
    assert "The account is frozen" in notice_text(agent)
    assert agent.locator("#customer-frozen").is_visible()
    trail = agent.locator("#customer-audit").inner_text()
    assert "Froze the account" in trail and REASON in trail
    shot(agent, "console-customer-frozen-en")
    assert script_errors(agent) == []

    _seed_tickets(server, customer_phone, agent_phone)
    supervisor = open_page(locale="zh_CN", viewport="desktop")
    phone, secret = _staff(server, "supervisor", "主管老赵")
    _sign_in_with_code(supervisor, phone, secret, "继续")
    supervisor.goto("/console/audit?action=customer.frozen")
    rows = supervisor.locator("#audit-entries").inner_text()
    assert "冻结了账户" in rows and "Agent Wang" in rows and REASON in rows
    shot(supervisor, "console-audit-zh_CN")
    supervisor.goto("/console/reports")
    assert supervisor.locator("#report-summary").is_visible()
    assert supervisor.locator("h1").inner_text() == "客服报表"
    assert supervisor.locator("#chart-category rect").count() >= 4
    assert "Agent Wang" in supervisor.locator("#report-agents").inner_text()
    shot(supervisor, "console-reports-zh_CN")

    # The customer cannot undo a freeze made by support; the agent cannot either, a supervisor
    # can, with a note of how the customer was checked.
    customer.goto("/security/freeze")
    assert "该账户已被客服冻结" in customer.locator("#freeze").inner_text()
    assert "Only a supervisor can unfreeze" in agent.locator("#customer-actions").inner_text()
    supervisor.goto(agent.url.split("?")[0])
    supervisor.locator("#unfreeze-reason").fill("视频通话核对身份证，确认本人")
    shot(supervisor, "console-unfreeze-zh_CN")
    supervisor.get_by_role("button", name="解冻账户").click()
    supervisor.wait_for_url("**notice=unfrozen")
    assert "账户已解冻" in notice_text(supervisor)
    assert supervisor.locator("#customer-frozen").count() == 0
    assert "正常" in supervisor.locator("body").inner_text()  # the wallet's status, translated
    assert "解冻了账户" in supervisor.locator("#customer-audit").inner_text()
    customer.goto("/security")
    assert "客服已解冻账户" in customer.locator("body").inner_text()
    assert script_errors(supervisor) == []
