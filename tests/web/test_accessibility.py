"""Accessibility and fit on the customer pages, in chromium at phone width:

- axe-core (vendored, tests/web/vendor) finds no serious or critical violation;
- every control a finger uses is at least 44 x 44 px (links inside a sentence excepted);
- at 320 px nothing is wider than the screen, with a 15-digit balance and history row on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.pages import sign_in
from tests.support.showcase import seed
from tests.web.conftest import page_opener, pages_server

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js").read_text("utf-8")

CUSTOMER_PAGES = [
    ("/", None),
    ("/signup", None),
    ("/login", None),
    ("/help", None),
    ("/help/how-to-withdraw", None),
    ("/terms", None),
    ("/design", None),
    ("/wallet", "customer"),
    ("/wallet/transfer", "customer"),
    ("/wallet/history", "customer"),
    ("/wallet/topup", "customer"),
    ("/wallet/withdraw", "customer"),
    ("/wallet/statement", "customer"),
    ("/security", "customer"),
    ("/security/pin", "customer"),
    ("/security/freeze", "customer"),
    ("/me", "customer"),
    ("/support", "customer"),
    ("/chat", "customer"),
    ("/wallet/cards", "customer"),
    ("/inbox", "customer"),
    ("/wallet/cases", "customer"),
    ("/wallet/claims/new?from=help", "customer"),
    ("/pay/code", "customer"),
    ("/scan", "customer"),
    ("/contact", None),
    ("/verify", None),
    ("/help/search?q=提现", None),
    ("/wallet", "newcomer"),
    ("/wallet/history", "newcomer"),
]

# Controls smaller than 44 px, except a link that is part of a sentence (WCAG 2.5.8's inline
# exception) and the native inputs whose <label> is the target.
SMALL_TARGETS = """
() => {
  const out = [];
  const inSentence = (el) => {
    if (getComputedStyle(el).display !== 'inline') return false;
    const parent = el.parentElement;
    const own = Array.from(parent.childNodes).filter(n => n !== el)
      .map(n => n.textContent || '').join('').trim();
    return own.length > 0;
  };
  for (const el of document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    if (el.closest('.skip-link')) continue;
    const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
    if (el.tagName === 'INPUT' && label && (el.type === 'checkbox' || el.type === 'radio' ||
        el.type === 'file')) {
      const l = label.getBoundingClientRect();
      if (l.height >= 44 && l.width >= 44) continue;
    }
    if (r.height >= 44 && r.width >= 44) continue;
    if (el.tagName === 'A' && inSentence(el)) continue;
    out.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def a11y_server(db_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with pages_server(db_factory, tmp_path_factory.mktemp("a11y")) as live:
        live.shown = seed(live, prefix="1370000")
        yield live


@pytest.fixture
def a11y_page(browser: Any, a11y_server: Any) -> Iterator[Any]:
    yield from page_opener(browser, a11y_server)


def _pages(open_page: Any, shown: Any, locale: str, viewport: str = "phone"):
    pages: dict[str | None, Any] = {}

    def page_for(who: str | None) -> Any:
        if who not in pages:
            page = open_page(locale=locale, viewport=viewport)
            if who is not None:
                sign_in(page, getattr(shown, who), shown.password)
                page.wait_for_url("**/wallet")
            pages[who] = page
        return pages[who]

    return page_for


def _axe(page: Any) -> list[str]:
    page.evaluate(AXE)
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [json.dumps(v, ensure_ascii=False) for v in result]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_no_serious_axe_violations_and_big_enough_targets(a11y_page, a11y_server, locale):
    page_for = _pages(a11y_page, a11y_server.shown, locale)
    problems = []
    for path, who in CUSTOMER_PAGES:
        page = page_for(who)
        page.goto(path)  # waits for the load event; only the chat page builds itself by fetch
        if path == "/chat":
            page.wait_for_load_state("networkidle")
        for violation in _axe(page):
            problems.append(f"{path} ({who}): {violation}")
        for target in page.evaluate(SMALL_TARGETS):
            problems.append(f"{path} ({who}): tap target under 44 px: {target}")
    assert not problems, "\n".join(problems)


def test_nothing_wider_than_a_320_px_phone_with_15_digit_amounts(a11y_page, a11y_server):
    shown = a11y_server.shown
    page = a11y_page(locale="zh_CN", viewport="phone")
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(page, shown.long, shown.password)
    page.wait_for_url("**/wallet")
    assert "123,456,789,012,345.00" in page.locator(".bal-amount").inner_text()
    wide = []
    for path in ["/wallet", "/wallet/history", "/wallet/statement", "/me", "/security"]:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            wide.append(f"{path}: {width} px")
    # The 15-digit row's own page, and the transfer form with a 15-digit amount typed in.
    page.goto("/wallet/history")
    page.locator(".tx").first.click()
    page.wait_for_url("**/wallet/tx/**")
    if page.evaluate("document.documentElement.scrollWidth") > 320:
        wide.append("/wallet/tx/…")
    page.goto("/wallet/transfer")
    page.locator("#transfer-to").fill("1370000" + "1111")
    page.locator("#transfer-amount").fill("123456789012345")
    page.locator("form[action='/wallet/transfer/check'] button[type=submit]").click()
    page.wait_for_load_state()
    if page.evaluate("document.documentElement.scrollWidth") > 320:
        wide.append("/wallet/transfer/check")
    assert not wide, wide
