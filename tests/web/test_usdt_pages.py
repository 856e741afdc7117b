"""USDT on chains in a real browser, in Chinese on a phone (375 px): a customer opens the deposit
page (the TRC-20 address with its QR code and the wrong-network warning), sends test USDT from
the development chain, watches the confirmations rise as blocks are made (the server's clock)
and the balance credited without reloading; then withdraws to an address — refused for an
ERC-20 address with what was typed kept, then the fee and the total before the PIN, a wrong PIN
refused, and the result page with the transaction hash until it is confirmed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from qianbao.kernel.clock import TestClock
from qianbao.main import create_app
from tests.conftest import _run, base_settings
from tests.support.pages import PagesServer, alert_text, script_errors, shot, sign_up
from tests.web.browser import LiveServer
from tests.web.conftest import BROWSER_THROTTLE, page_opener
from tests.web.test_wallet_pages import PIN, _fund_and_pin

pytestmark = pytest.mark.browser
TRON_OTHER = "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"
ERC20 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
WAIT_MS = 30_000  # the worker polls the chain twice a second; the page refreshes every 3 s


@pytest.fixture(scope="module")
def server(db_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of this file's own: USDT offered, the chain watched twice a second."""
    folder = tmp_path_factory.mktemp("usdt")
    url = _run(db_factory.create())
    settings = base_settings(
        sms={"outbox_path": folder / "sms.jsonl", "console_echo": False},
        email={"backend": "file", "outbox_dir": folder / "mail"},
        worker={"poll_interval_s": 0.2},
        throttle=BROWSER_THROTTLE,
        identity={"otp_max_sends_per_ip_hour": 10_000, "otp_resend_cooldown_s": 0},
        payments={
            "payout_outbox_path": folder / "payouts.jsonl",
            "sandbox_secret": "usdt-pages-sandbox-signing-key",
            "currencies": ["CNY", "USDT"],
        },
        chain={"poll_interval_s": 0.5},
    )
    app = create_app(settings, database_url_override=url, run_worker=True, clock=TestClock())
    live = LiveServer(app)
    settings.http.port = live.port
    live.start()
    try:
        yield PagesServer(app, live, live.url.replace("127.0.0.1", "localhost"))
    finally:
        live.stop()


@pytest.fixture
def open_page(browser: Any, server: Any) -> Iterator[Any]:
    yield from page_opener(browser, server)


def _blocks(server: Any, n: int) -> None:
    server.clock.advance(seconds=3 * n)  # TRC-20's development blocks


def _count(page: Any) -> int:
    text = page.locator(".usdt-deposit .usdt-count").first.inner_text()
    return int(re.search(r"(\d+)/20", text).group(1))  # type: ignore[union-attr]


def test_deposit_usdt_from_the_dev_chain_and_withdraw_it(open_page, server):
    server.clock.freeze(server.clock.now())
    page = open_page(locale="zh_CN")
    phone = sign_up(page, server, "zh_CN")
    _fund_and_pin(server, phone, 0)
    page.goto("/wallet/topup")
    page.locator("#usdt-link a").click()
    page.wait_for_url("**/wallet/usdt")
    assert page.locator("h1").inner_text() == "充值 USDT"
    warning = page.locator(".usdt-warning").inner_text()
    assert "TRC-20" in warning and "丢失" in warning
    address = page.locator("#usdt-address").inner_text()
    assert re.fullmatch(r"T[1-9A-HJ-NP-Za-km-z]{33}", address)
    assert page.locator(".usdt-qr svg").count() == 1
    assert page.locator("[data-copy]").first.get_attribute("data-copy") == address
    shot(page, "usdt-deposit-zh")

    page.locator("#usdt-dev summary").click()
    page.locator("#usdt-dev-amount").fill("88.8000001")  # seven decimals: refused, kept
    page.locator("#usdt-dev button[type=submit]").click()
    assert "小数" in page.locator("#usdt-dev-amount-error").inner_text()
    assert page.locator("#usdt-dev-amount").input_value() == "88.8000001"
    page.locator("#usdt-dev-amount").fill("88.8")
    page.locator("#usdt-dev button[type=submit]").click()
    page.wait_for_url("**/wallet/usdt?network=TRC20&notice=dev_sent*")
    _blocks(server, 1)  # into a block: the watcher sees it, the page shows it by itself
    page.wait_for_selector(".usdt-deposit[data-status=pending]", timeout=WAIT_MS)
    first = _count(page)
    assert 1 <= first < 20 and "确认" in page.locator(".usdt-count").first.inner_text()
    shot(page, "usdt-deposit-waiting-zh")
    _blocks(server, 5)
    page.wait_for_function(
        f"() => Number(document.querySelector('.usdt-deposit progress').value) > {first}",
        timeout=WAIT_MS,
    )
    assert _count(page) > first
    assert "0.000000" in page.locator("#usdt-balance").inner_text()
    _blocks(server, 20)
    page.wait_for_selector(".usdt-deposit[data-status=credited]", timeout=WAIT_MS)
    assert "88.800000" in page.locator("#usdt-balance").inner_text()
    assert "88.800000" in page.locator(".usdt-deposit .tx-amount").first.inner_text()
    shot(page, "usdt-deposit-credited-zh")

    page.locator("a[href^='/wallet/usdt/withdraw']").click()
    page.wait_for_url("**/wallet/usdt/withdraw?network=TRC20")
    assert page.locator("#usdt-network-TRC20").is_checked()
    assert "88.800000" in page.locator("#usdt-available").inner_text()
    page.locator("#usdt-address").fill(ERC20)
    page.locator("#usdt-amount").fill("20")
    page.locator("form[action$='/quote'] button[type=submit]").click()
    error = page.locator("#usdt-address-error").inner_text()
    assert "ERC-20" in error and "TRC-20" in error
    assert page.locator("#usdt-address").input_value() == ERC20
    assert page.locator("#usdt-amount").input_value() == "20"
    shot(page, "usdt-withdraw-wrong-network-zh")
    page.locator("#usdt-address").fill(TRON_OTHER)
    page.locator("form[action$='/quote'] button[type=submit]").click()
    assert page.locator("h1").inner_text() == "确认提现"
    assert "1.000000" in page.locator("#usdt-fee").inner_text()
    assert "21.000000" in page.locator("#usdt-total").inner_text()
    assert page.locator("#usdt-confirm-address").inner_text() == TRON_OTHER
    shot(page, "usdt-withdraw-confirm-zh")
    page.locator("#usdt-pin").fill("000000")
    page.locator("form[method=post][action='/wallet/usdt/withdraw'] button").click()
    assert "支付密码错误" in page.locator("#usdt-pin-error").inner_text()
    page.locator("#usdt-pin").fill(PIN)
    page.locator("form[method=post][action='/wallet/usdt/withdraw'] button").click()
    page.wait_for_url("**/wallet/usdt/withdrawals/*")
    page.wait_for_selector("#usdt-withdrawal[data-status=sent]", timeout=WAIT_MS)
    assert re.fullmatch("[0-9a-f]{64}", page.locator("#usdt-txid").inner_text())
    shot(page, "usdt-withdrawal-sent-zh")
    _blocks(server, 21)
    page.wait_for_selector("#usdt-withdrawal[data-status=completed]", timeout=WAIT_MS)
    assert "20/20" in page.locator("#usdt-confirmations").inner_text()
    shot(page, "usdt-withdrawal-done-zh")
    page.goto("/wallet/usdt")
    assert "67.800000" in page.locator("#usdt-balance").inner_text()  # 88.8 − 20 − 1 fee
    assert alert_text(page) == ""
    assert script_errors(page) == []
