"""Currencies and exchange in a real browser, in Chinese on a phone (375 px): a customer opens a
USDT wallet, exchanges CNY into USDT (a quote with the rate, the spread as a fee and a countdown,
then the PIN), sees the result and both rows in the history, and exchanges back; a quote left to
expire cannot be confirmed and a new one is one tap away; a wrong PIN keeps the quote."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from qianbao.moneyconf import rates
from tests.support.pages import alert_text, no_sideways_scroll, script_errors, shot, sign_up
from tests.web.conftest import page_opener, pages_server
from tests.web.test_wallet_pages import PIN, _fund_and_pin

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(db_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of this file's own, offering USD and USDT with the operator's rates."""
    import asyncio

    from tests.conftest import in_thread

    with pages_server(db_factory, tmp_path_factory.mktemp("exchange")) as live:
        live.app.state.settings.payments.currencies = ["CNY", "USD", "USDT"]

        async def set_rates() -> None:
            db = live.database()
            try:
                async with db.transaction() as s:
                    for code, per_cny in (("USD", "7.1180"), ("USDT", "7.1050")):
                        await rates.set_rate(
                            s, code, Decimal(per_cny), Decimal("0.5"), change_id=uuid.uuid4(),
                            now=live.clock.now(),
                        )  # fmt: skip
            finally:
                await db.dispose()

        in_thread(asyncio.run, set_rates())
        yield live


@pytest.fixture
def open_page(browser: Any, server: Any) -> Iterator[Any]:
    yield from page_opener(browser, server)


def _balance(page: Any, code: str) -> str:
    return page.locator(f"#wallet-{code} .row-value").inner_text()


def test_exchange_cny_to_usdt_and_back(open_page, server):
    page = open_page(locale="zh_CN")
    phone = sign_up(page, server, "zh_CN")
    _fund_and_pin(server, phone, 100_000)

    page.goto("/wallet")
    page.locator("#tile-currencies").click()
    page.wait_for_url("**/wallet/currencies")
    page.locator("#open-USDT").click()
    page.wait_for_url("**/wallet/currencies?notice=wallet_opened")
    assert "0.000000 USDT" in _balance(page, "USDT")
    shot(page, "currencies-zh")

    page.goto("/wallet/exchange?sell=CNY&buy=USDT")
    assert "7.105" in page.locator("#rates").inner_text()
    page.locator("#ex-amount").fill("１００")  # a full-width IME amount is read as 100
    page.get_by_role("button", name="获取报价").click()
    page.wait_for_url("**/wallet/exchange/quotes/*")
    assert "¥100.00" in page.locator("#quote-sell").inner_text()
    assert "¥0.50" in page.locator("#quote-fee").inner_text()
    assert "14.004222 USDT" in page.locator("#quote-buy").inner_text()
    seconds = int(page.locator("[data-seconds]").inner_text())
    assert 0 < seconds <= 30
    no_sideways_scroll(page)
    shot(page, "exchange-quote-zh")

    page.locator("#exchange-pin").fill("000000")  # wrong: refused, the quote stays
    page.locator("button[data-needs-quote]").click()
    page.wait_for_load_state()
    assert "支付密码错误" in alert_text(page)
    page.locator("#exchange-pin").fill(PIN)
    page.locator("button[data-needs-quote]").click()
    page.wait_for_url("**notice=exchanged")
    assert page.locator(".result.done").count() == 1
    assert "14.004222 USDT" in page.locator(".result-amount").inner_text()
    shot(page, "exchange-done-zh")

    page.goto("/wallet/currencies")
    assert "¥900.00" in _balance(page, "CNY")
    assert "14.004222 USDT" in _balance(page, "USDT")
    page.goto("/wallet/history")
    titles = page.locator(".tx-title").all_inner_texts()
    assert any("CNY → USDT" in t for t in titles), titles

    # Back: all the USDT into CNY.
    page.goto("/wallet/exchange?sell=USDT&buy=CNY")
    page.locator("#ex-amount").fill("14.004222")
    page.get_by_role("button", name="获取报价").click()
    page.wait_for_url("**/wallet/exchange/quotes/*")
    assert "¥99.00" in page.locator("#quote-buy").inner_text()
    page.locator("#exchange-pin").fill(PIN)
    page.locator("button[data-needs-quote]").click()
    page.wait_for_url("**notice=exchanged")
    page.goto("/wallet/currencies")
    assert "¥999.00" in _balance(page, "CNY")
    assert "0.000000 USDT" in _balance(page, "USDT")
    assert script_errors(page) == []


def test_a_quote_that_expired_cannot_be_confirmed(open_page, server):
    page = open_page(locale="zh_CN")
    phone = sign_up(page, server, "zh_CN")
    _fund_and_pin(server, phone, 10_000)
    page.goto("/wallet/exchange?sell=CNY&buy=USD")
    page.locator("#ex-amount").fill("10.001")  # three decimals: said under the field, kept
    page.get_by_role("button", name="获取报价").click()
    page.wait_for_load_state()
    assert page.locator("#ex-amount").input_value() == "10.001"
    assert page.locator(".field-error").count() == 1
    page.locator("#ex-amount").fill("10")
    page.get_by_role("button", name="获取报价").click()
    page.wait_for_url("**/wallet/exchange/quotes/*")
    server.clock.advance(seconds=31)  # the server's clock: the quote is past its expiry
    try:
        page.locator("#exchange-pin").fill(PIN)
        page.locator("button[data-needs-quote]").click()
        page.wait_for_load_state()
        assert "报价已过期" in alert_text(page)
        assert page.locator("button[data-needs-quote]").is_disabled()
        shot(page, "exchange-expired-zh")
        page.locator("#new-quote").click()
        page.wait_for_url("**/wallet/exchange/quotes/*")
        assert page.locator("button[data-needs-quote]").is_enabled()
    finally:
        server.clock.reset()
