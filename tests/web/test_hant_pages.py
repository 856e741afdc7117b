"""Traditional Chinese in chromium: a browser asking for zh-TW gets every main customer page and
the help center in zh_Hant (html lang, no Simplified characters, no English sentences left),
signs up and in, and the language switch offers 简体中文 / 繁體中文 / English. Screenshots at
375 px (tests/web/artifacts/screenshots/hant-*.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from qianbao.kernel.hant import to_hant
from tests.support.identity import STRONG_PASSWORD, e164, new_phone
from tests.support.pages import T, shot

# Common characters that exist only in Simplified.
SIMPLIFIED_ONLY = set("们这说后发钱账户对时请还过从应该让证码为进银页点击转现额实认单问题关开")
HANT = {key: to_hant(text) for key, text in T["zh_CN"].items()}
# Three or more English words in a row: a sentence left untranslated.
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z]+(?:[ '’-]+[A-Za-z][a-z]+){2,}")
# What may stay in Latin letters: brand and product names, codes.
ALLOWED = re.compile(
    r"Google Authenticator|Microsoft Authenticator|Apple Pay|Union Pay|Tron|Ethereum|"
    r"Qianbao Wallet|Face ID|Touch ID|Windows Hello|Wi-?Fi|Excel",
    re.IGNORECASE,
)

PAGES = [
    ("wallet", "/wallet"),
    ("transfer", "/wallet/transfer"),
    ("history", "/wallet/history"),
    ("topup", "/wallet/topup"),
    ("security", "/security"),
    ("me", "/me"),
    ("help", "/help"),
    ("help-article", "/help/withdrawal-fees"),
    ("help-search", "/help/search?q=忘記登入密碼"),
    ("chat", "/chat"),
    ("verify", "/verify"),
    ("contact", "/contact"),
]


@pytest.fixture
def hant_page(browser: Any, server: Any) -> Iterator[Any]:
    """A phone-sized page whose browser asks for Traditional Chinese (Taiwan)."""
    context = browser.new_context(
        base_url=server.url,
        locale="zh-TW",
        viewport={"width": 375, "height": 812},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


def problems(page: Any, name: str) -> list[Any]:
    """What is wrong with the page in Traditional Chinese (empty: nothing); a screenshot."""
    found: list[Any] = []
    if page.locator("html").get_attribute("lang") != "zh-Hant":
        found.append((name, "html lang", page.locator("html").get_attribute("lang")))
    visible = page.locator("body").inner_text()
    simplified = sorted(SIMPLIFIED_ONLY & set(visible))
    if simplified:
        found.append((name, "simplified", simplified))
    english = ENGLISH_RUN.findall(ALLOWED.sub("", visible))
    if english:
        found.append((name, "english", english))
    if page.console_errors:
        found.append((name, "console", page.console_errors))
    shot(page, f"hant-{name}")
    return found


def check_page(page: Any, name: str) -> None:
    assert problems(page, name) == []


def test_public_pages_and_sign_up_in_traditional(hant_page: Any, server: Any):
    page = hant_page
    page.goto("/login")
    check_page(page, "login")
    # The switch: the other two by their full names (short on a phone), the current one named.
    links = page.locator("a.lang")
    assert [a.get_attribute("title") for a in links.all()] == ["简体中文", "English"]
    assert [t.strip() for t in page.locator("a.lang .lang-short").all_inner_texts()] == [
        "简体",
        "EN",
    ]
    assert page.locator(".lang.current").inner_text().strip() == "繁體中文"

    phone = new_phone()
    page.goto("/signup")
    check_page(page, "signup")
    seen = len(server.sms(e164(phone)))
    page.locator("#signup-phone").fill(phone)
    page.locator("#signup-terms").check()
    page.get_by_role("button", name=HANT["send_code"]).click()
    page.wait_for_selector("#signup-code")
    code = server.wait_for_code(e164(phone), seen)
    text = server.sms(e164(phone))[-1]
    assert "驗證碼" in text and not SIMPLIFIED_ONLY & set(text), text  # the SMS in Traditional
    page.locator("#signup-code").fill(code)
    page.locator("#signup-password").fill(STRONG_PASSWORD)
    page.locator("#signup-password2").fill(STRONG_PASSWORD)
    page.get_by_role("button", name=HANT["create"], exact=True).click()
    page.wait_for_url("**/wallet?notice=signed_up")

    found = []
    for name, path in PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        found += problems(page, name)
    assert found == []

    # The switch: Simplified, then back to Traditional; the choice outlives the browser's own.
    page.goto("/help")
    page.locator("a.lang[hreflang=zh-CN]").click()
    page.wait_for_url("**/help")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "帮助中心" in page.locator("body").inner_text()
    page.locator("a.lang[hreflang=zh-Hant]").click()
    page.wait_for_url("**/help")
    assert page.locator("html").get_attribute("lang") == "zh-Hant"
    assert "幫助中心" in page.locator("body").inner_text()
