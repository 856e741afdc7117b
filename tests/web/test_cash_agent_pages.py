"""Cash agents in a real browser, in Chinese on a phone (375 px): a customer finds the nearest
cash points from the browser's location (granted to the page; the plan is drawn on the server,
no request leaves the machine) and by a typed district; at the nearest point the agent asks for
a cash-in by the customer's phone number, the customer confirms with the PIN on the phone, the
agent's page sees it confirmed by itself and the float and the customer's balance move."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.merchants import agents, onboarding
from tests.support.pages import alert_text, no_sideways_scroll, notice_text, script_errors, shot
from tests.support.pages import sign_up as customer_sign_up
from tests.web.test_merchant_pages import _db, _shop, _sign_in_staff, _staff
from tests.web.test_wallet_pages import PIN, _fund_and_pin

pytestmark = pytest.mark.browser
XUJIAHUI = (31.1955, 121.4375)


def _agent(server, name: tuple[str, str], where: tuple[str, str], float_minor: int) -> Any:
    shop = _shop(server, *name)

    async def work(db, ctx) -> None:
        async with db.transaction() as s:
            merchant = await onboarding.get(s, shop.id)
            agent = await agents.register(
                s, ctx.settings, merchant, city=("上海", "Shanghai"),
                district=("徐汇区", "Xuhui"), address=("漕溪北路 28 号", "28 Caoxi North Road"),
                latitude=Decimal(where[0]), longitude=Decimal(where[1]),
                hours=[["00:00", "24:00"]] * 7,
            )  # fmt: skip
            ledger = await Ledger.of_session(s)
            source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
            await ledger.post(
                transfer(f"float-{shop.id}", debit_account_id=source,
                         credit_account_id=agent.float_account_id, amount=float_minor,
                         currency="CNY")
            )  # fmt: skip

    _db(server, work)
    return shop


def _watched(page: Any) -> Any:
    """A page that collects its console errors (as the page fixture's pages do)."""
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    return page


def test_find_the_nearest_point_and_cash_in_there(browser, server):
    near = _agent(server, ("徐家汇便民点", "Xujiahui Point"), ("31.195600", "121.437600"), 500_000)
    _agent(server, ("陆家嘴便民点", "Lujiazui Point"), ("31.239700", "121.499800"), 500_000)

    context = browser.new_context(
        base_url=server.url, locale="zh-CN", viewport={"width": 375, "height": 812},
        is_mobile=True, has_touch=True, geolocation={"latitude": XUJIAHUI[0],
        "longitude": XUJIAHUI[1]}, permissions=["geolocation"],
    )  # fmt: skip
    outside: list[str] = []
    context.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None,
    )
    try:
        page = _watched(context.new_page())
        phone = customer_sign_up(page, server, "zh_CN")
        _fund_and_pin(server, phone, 0)
        page.goto("/wallet")
        page.locator("#tile-cash").click()
        page.locator("#find-points").click()
        page.wait_for_url("**/cash-points")
        page.locator("#use-location").click()
        page.wait_for_url("**/cash-points?lat=*")
        first = page.locator("#points .point").first
        assert "徐家汇便民点" in first.inner_text()
        assert " m" in first.locator(".distance").inner_text()  # metres away
        assert page.locator("svg.agent-plan .plan-point").count() >= 2
        assert page.locator("svg.agent-plan .plan-you").count() == 1
        no_sideways_scroll(page)
        shot(page, "cash-points-zh")
        # By a typed district (full-width letters are read too).
        page.locator("#district").fill("ｐｕｄｏｎｇ")
        page.locator("#district-form button[type=submit]").click()
        page.wait_for_url("**district=*")
        assert "陆家嘴便民点" in page.locator("#points .point").first.inner_text()
        page.locator("#district").fill("亚特兰蒂斯")
        page.locator("#district-form button[type=submit]").click()
        page.wait_for_load_state()
        assert "不认识这个区" in alert_text(page)

        # The agent asks for a cash-in by the customer's number.
        agent_context = browser.new_context(
            base_url=server.url, locale="zh-CN", viewport={"width": 375, "height": 812}
        )
        agent_page = _watched(agent_context.new_page())
        staff_phone, secret = _staff(server, near)
        _sign_in_staff(agent_page, staff_phone, secret)
        agent_page.goto("/merchant/agent")
        assert "¥5,000.00" in agent_page.locator("#agent-float").inner_text()
        agent_page.locator("#agent-customer").fill(phone)
        agent_page.locator("#agent-amount").fill("200")
        shot(agent_page, "agent-desk-zh")
        agent_page.locator("#agent-form button[type=submit]").click()
        agent_page.wait_for_url("**/merchant/agent/requests/*")
        assert agent_page.locator("#cash-status").get_attribute("data-status") == "pending"

        # The customer confirms on the phone: a banner on the wallet leads there.
        page.goto("/wallet")
        page.locator(".cash-alert a").click()
        page.wait_for_url("**/wallet/cash/*")
        assert "¥200.00" in page.locator("#cash-amount").inner_text()
        page.locator("#cash-pin").fill(PIN)
        shot(page, "cash-confirm-zh")
        page.locator("button[value=confirm]").click()
        page.wait_for_url("**notice=cash_done")
        assert page.locator(".result.done").count() == 1 and notice_text(page) is not None

        # The agent's page updates by itself.
        agent_page.wait_for_selector("#cash-status[data-status=completed]", timeout=10_000)
        agent_page.goto("/merchant/agent")
        assert "¥4,800.60" in agent_page.locator("#agent-float").inner_text()  # + 0.60 commission
        page.goto("/wallet")
        assert "¥200.00" in page.locator(".bal").inner_text()
        assert script_errors(page) == [] and script_errors(agent_page) == []
        assert outside == [], outside  # nothing left the machine
        agent_context.close()
    finally:
        context.close()
