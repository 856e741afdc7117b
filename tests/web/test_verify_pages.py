"""/verify and /contact in a real browser, in Chinese and English at phone width: the footer
link, an official number and a fake one, and the contact page with the hotline's hours."""

from __future__ import annotations

import pytest

from tests.support.pages import script_errors, shot

pytestmark = pytest.mark.browser

CASES = {
    "zh_CN": {
        "title": "这真的是钱包官方吗？",
        "check": "核实",
        "yes": "是的，这是钱包的官方渠道：客服热线",
        "no": "不是——这不是我们的官方渠道。",
        "contact": "联系我们",
        "hours": "每天 08:00–22:00（北京时间）",
    },
    "en": {
        "title": "Is this really Qianbao?",
        "check": "Check",
        "yes": "Yes, this is an official Qianbao channel: Customer service hotline",
        "no": "No — this is NOT one of ours.",
        "contact": "Contact us",
        "hours": "Every day, 08:00–22:00 (China time)",
    },
}


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_check_official_and_fake_channels(open_page, locale):
    t = CASES[locale]
    page = open_page(locale=locale)
    page.goto("/")
    page.locator(".site-footer a[href='/verify']").click()
    page.wait_for_url("**/verify")
    assert page.locator("h1").inner_text() == t["title"]
    page.locator("#verify-value").fill("+86 400 000 1234")
    page.get_by_role("button", name=t["check"], exact=True).click()
    page.wait_for_selector(".verify-answer")
    assert page.locator(".verify-answer.is-official h2").inner_text() == "✓ " + t["yes"]
    shot(page, f"verify-official-{locale}")
    page.locator("#verify-value").fill("+86 139 8888 6666")
    page.get_by_role("button", name=t["check"], exact=True).click()
    page.wait_for_selector(".verify-answer.is-fake")
    assert t["no"] in page.locator(".verify-answer h2").inner_text()
    shot(page, f"verify-fake-{locale}")
    page.locator(".verify-rule a[href='/contact']").click()
    page.wait_for_url("**/contact")
    assert page.locator("h1").inner_text() == t["contact"]
    assert t["hours"] in page.locator(".contact-hours").inner_text()
    assert (
        page.locator(".contact-number a[href='tel:400-000-1234'], .contact-number a").count() == 1
    )
    shot(page, f"contact-{locale}")
    assert script_errors(page) == []
