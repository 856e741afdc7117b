"""The finance console in a real browser, in Chinese on a phone (375 px): a supervisor opens
/ops/finance (a tile for every money page), proposes a new withdrawal fee for bank cards with a
reason, and cannot approve it herself; an admin sees the change as before / after and approves
it; the fee page then shows the new value in force."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.pages import notice_text, script_errors, shot
from tests.web.conftest import page_opener, pages_server
from tests.web.test_console_pages import _sign_in_with_code, _staff

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(db_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of this file's own: the fee approved here must not change the withdrawal fee
    the other page tests expect on the shared one."""
    with pages_server(db_factory, tmp_path_factory.mktemp("finance")) as live:
        yield live


@pytest.fixture
def open_page(browser: Any, server: Any) -> Iterator[Any]:
    yield from page_opener(browser, server)


def test_a_supervisor_proposes_a_fee_and_an_admin_approves_it(open_page, server):
    maker = open_page(locale="zh_CN")
    maker_phone, maker_secret = _staff(server, "supervisor", "财务小王")
    _sign_in_with_code(maker, maker_phone, maker_secret, "继续")
    maker.goto("/ops/finance")
    tiles = maker.locator(".finance-tiles a")
    assert tiles.count() == 12
    hrefs = [tiles.nth(i).get_attribute("href") for i in range(tiles.count())]
    assert "/ops/wallet" in hrefs and "/ops/bank/payouts" in hrefs
    assert any(h.startswith("/console/audit") for h in hrefs)
    assert "费率" in maker.locator(".finance-tiles").inner_text()
    shot(maker, "ops-finance-zh")

    maker.goto("/ops/finance/fees")
    card = maker.locator("section[data-target='fee:withdrawal:card']")
    assert "1.00" in card.locator("[data-field=fixed]").inner_text()
    card.locator("details summary").click()
    card.locator("input[name=fixed]").fill("2.00")
    card.locator("input[name=minimum]").fill("2.00")
    card.locator("input[name=reason]").fill("银行提高了代付手续费")
    shot(maker, "ops-finance-fees-zh")
    card.locator("button[type=submit]").click()
    maker.wait_for_load_state()
    assert maker.url.endswith("/ops/finance?notice=proposed#pending")
    assert notice_text(maker)
    change = maker.locator("#pending article[data-target='fee:withdrawal:card']")
    assert change.count() == 1
    assert change.locator("form[action$='/approve']").count() == 0  # not by the proposer
    fixed = change.locator("tr[data-field=fixed]")
    assert "1.00" in fixed.locator(".before").inner_text()
    assert "2.00" in fixed.locator(".after").inner_text()

    checker = open_page(locale="zh_CN")
    checker_phone, checker_secret = _staff(server, "admin", "财务主管")
    _sign_in_with_code(checker, checker_phone, checker_secret, "继续")
    checker.goto("/ops/finance")
    change = checker.locator("#pending article[data-target='fee:withdrawal:card']")
    assert "银行提高了代付手续费" in change.inner_text() and "财务小王" in change.inner_text()
    shot(checker, "ops-finance-approve-zh")
    change.locator("form[action$='/approve'] button").click()
    checker.wait_for_load_state()
    assert "notice=approved" in checker.url and notice_text(checker)
    assert checker.locator("#pending article").count() == 0
    assert checker.locator("#decided details").count() == 1

    checker.goto("/ops/finance/fees")
    card = checker.locator("section[data-target='fee:withdrawal:card']")
    assert "2.00" in card.locator("[data-field=fixed]").inner_text()
    assert script_errors(maker) == [] and script_errors(checker) == []
