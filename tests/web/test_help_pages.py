"""The help center in a real browser, in Chinese and English at phone width: the home page,
searching (a typo included), an article, the "was this helpful?" vote through HTMX, a search
with no result, and the help link on a wallet page's footer."""

from __future__ import annotations

import pytest

from tests.support.pages import script_errors, shot

pytestmark = pytest.mark.browser

CASES = {
    "zh_CN": {
        "query": "提现多久到账",
        "title": "提现多久到账",
        "vote": "有帮助",
        "thanks": "感谢您的反馈。",
        "home": "有什么可以帮您？",
        "nothing": "没有找到与您的问题相符的文章。",
    },
    "en": {
        "query": "how do I recharg my wallet",
        "title": "How to top up your wallet",
        "vote": "Not really",
        "thanks": "Thank you for your feedback.",
        "home": "How can we help?",
        "nothing": "No article matches your question.",
    },
}


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_search_read_and_vote(open_page, locale):
    t = CASES[locale]
    page = open_page(locale=locale)
    page.goto("/")
    page.locator(".site-footer a[href='/help']").click()
    page.wait_for_url("**/help")
    assert page.locator("h1").inner_text() == t["home"]
    shot(page, f"help-home-{locale}")
    page.locator("#help-q").fill(t["query"])
    page.locator("#help-q").press("Enter")
    page.wait_for_url("**/help/search?q=*")
    first = page.locator(".help-result-title").first
    assert first.inner_text() == t["title"]
    shot(page, f"help-search-{locale}")
    first.click()
    assert page.locator("h1").inner_text() == t["title"]
    shot(page, f"help-article-{locale}")
    page.get_by_role("button", name=t["vote"]).click()
    page.wait_for_selector(".help-thanks")
    assert t["thanks"] in page.locator("#vote").inner_text()
    if locale == "en":  # "not really" offers the way to a person
        assert page.locator("#vote a[href='/help/contact-us']").count() == 1
    shot(page, f"help-voted-{locale}")
    page.reload()  # the vote is remembered for this browser
    assert page.locator("#vote form").count() == 0
    page.goto("/help/search?q=xyzzy")
    assert t["nothing"] in page.locator(".help-empty").inner_text()
    shot(page, f"help-no-result-{locale}")
    assert script_errors(page) == []
