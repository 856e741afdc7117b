"""The demo shop end to end, in chromium at phone width in Chinese, as `make run` serves it: a
visitor buys a coffee, pays on the wallet's hosted page with the PIN, comes back to the shop,
which shows the order paid and the webhooks it received and verified with ``standardwebhooks``
(delivered over HTTP by the server's own worker)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qianbao import webhooks
from qianbao.merchants import keys, onboarding
from tests.conftest import DatabaseFactory, in_thread
from tests.support.merchants import uscc
from tests.support.pages import no_sideways_scroll, script_errors, shot, sign_up
from tests.support.secrets import remember
from tests.support.wallet import PIN
from tests.web.conftest import page_opener, pages_server
from tests.web.test_wallet_pages import _fund_and_pin

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shop_server(
    db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("demo-shop")
    with pages_server(db_factory, folder) as server:
        settings = server.app.state.settings
        settings.var_dir = folder  # the shop's config and the events it receives
        settings.webhooks.allow_private_targets = True  # the shop is on localhost, as in make run
        _configure_shop(server, folder)
        yield server


def _configure_shop(server: Any, folder: Path) -> None:
    """What the demo data does: an active merchant, an API key, an endpoint on the shop."""

    async def go() -> None:
        db = server.database()
        ctx = server.app.state.identity
        try:
            async with db.transaction() as s:
                merchant = await onboarding.create(
                    s, ctx,
                    onboarding.Application(
                        name_zh="演示咖啡", name_en="Demo Coffee", category="5814", uscc=uscc(),
                        settlement_number="DE89370400440532013000", settlement_holder="Demo",
                    ),
                    status="active",
                )  # fmt: skip
                _, api_key = await keys.create_key(
                    s, ctx, merchant, name="shop", scopes=["read", "payments"], by=None
                )
                _, secret = await webhooks.create_endpoint(
                    s, server.app.state.settings, owner_id=merchant.id,
                    url=f"{server.url}/api/demo-shop/webhooks",
                    event_types=list(webhooks.EVENT_TYPES),
                )  # fmt: skip
        finally:
            await db.dispose()
        remember(api_key)
        remember(secret)
        (folder / "demo-shop.json").write_text(
            json.dumps({"api_key": api_key, "webhook_secret": secret})
        )

    in_thread(asyncio.run, go())


@pytest.fixture
def open_shop_page(browser: Any, shop_server: Any) -> Iterator[Any]:
    yield from page_opener(browser, shop_server)


def test_buying_a_coffee_at_the_demo_shop(open_shop_page, shop_server):
    page = open_shop_page(locale="zh_CN")
    phone = sign_up(page, shop_server, "zh_CN")
    _fund_and_pin(shop_server, phone, 100_00)

    page.goto("/demo-shop")
    no_sideways_scroll(page)
    page.locator("form[action='/demo-shop/buy']").first.locator("button").click()
    page.wait_for_url(re.compile(r".*/pay/checkout/.*"))
    assert "演示咖啡" in page.locator("main").inner_text()
    shot(page, "demo-shop-checkout-zh")
    page.locator("#pay-pin").fill(PIN)
    page.locator("#pay-submit").click()
    page.locator("#pay-back").click()
    page.wait_for_url(re.compile(r".*/demo-shop/orders/COFFEE-.*"))
    assert "已付款" in page.locator("main").inner_text()
    # The worker delivers the webhooks within a second or two; the shop lists what it verified.
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline:
        page.reload()
        text = page.locator("main").inner_text()
        if "payment.succeeded" in text and "checkout.session.completed" in text:
            break
        time.sleep(0.5)
    assert "payment.succeeded" in text and "checkout.session.completed" in text, text
    assert re.search(r"msg_[0-9a-z]{26}", text)
    shot(page, "demo-shop-paid-zh")
    assert script_errors(page) == []
