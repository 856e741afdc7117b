"""The web shell in a real browser: phone and desktop, Chinese and English."""

from __future__ import annotations

import pytest

from tests.web.conftest import screenshot

pytestmark = pytest.mark.browser

HEADLINE = {"zh_CN": "您的钱包，有真人帮您", "en": "Your wallet, with real help"}
FEATURE = {"zh_CN": "充值与提现", "en": "Top up and withdraw"}
SAFETY = {"zh_CN": "我们绝不会索要您的验证码", "en": "We will never ask for your codes"}


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_home_page_reads_well_on_phone_and_desktop(new_page, locale, viewport):
    page = new_page(locale=locale, viewport=viewport)
    page.goto("/")
    assert page.locator("h1").inner_text() == HEADLINE[locale]
    assert page.get_by_text(FEATURE[locale]).is_visible()
    assert page.get_by_text(SAFETY[locale]).is_visible()
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if locale == "zh_CN" else "en")
    # Nothing sticks out sideways on a 375 px phone.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, f"home-{locale}-{viewport}")
    assert page.console_errors == []  # no CSP violations, no script errors


def test_language_switch_is_remembered(new_page):
    page = new_page(locale="zh_CN")
    page.goto("/")
    assert page.locator("h1").inner_text() == HEADLINE["zh_CN"]
    page.locator("a.lang[hreflang=en]").click()
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == HEADLINE["en"]
    page.reload()
    assert page.locator("h1").inner_text() == HEADLINE["en"]
    page.locator("a.lang[hreflang=zh-CN]").click()
    assert page.locator("h1").inner_text() == HEADLINE["zh_CN"]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_friendly_404(new_page, locale):
    page = new_page(locale=locale)
    response = page.goto("/no/such/page")
    assert response.status == 404
    expected = {"zh_CN": "找不到该页面", "en": "We could not find that page"}[locale]
    assert page.locator("h1").inner_text() == expected
    page.get_by_role(
        "link", name={"zh_CN": "返回首页", "en": "Back to the home page"}[locale]
    ).click()
    assert page.locator("h1").inner_text() == HEADLINE[locale]
    screenshot(page, f"404-{locale}")


def test_api_docs_render_from_vendored_swagger_ui(new_page):
    page = new_page(locale="en", viewport="desktop")
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "Qianbao API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.get_by_text("/healthz").first.is_visible()
    screenshot(page, "api-docs")


def test_pwa_manifest_is_linked_and_valid(new_page):
    page = new_page(locale="en")
    page.goto("/")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = page.request.get(href).json()
    assert manifest["start_url"] == "/"
    assert any(icon["sizes"] == "512x512" for icon in manifest["icons"])
