"""The language is chosen once for the account (issue 20, three languages): "我的" → 语言 → 繁體中文
/ English; the pages follow, and so do the SMS the account receives — even when this browser's
page language is switched back."""

from __future__ import annotations

from typing import Any

from tests.support.identity import e164
from tests.support.pages import sign_up


def test_the_chosen_language_is_the_accounts(open_page: Any, server: Any) -> None:
    page = open_page(locale="zh_CN")
    phone = sign_up(page, server, "zh_CN")
    page.goto("/me")
    row = page.locator("#me-language")
    assert "简体中文" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url("**/me/language")
    assert page.locator("h1").inner_text() == "语言"
    assert page.locator("input[name=language]:checked").get_attribute("value") == "zh_CN"
    page.locator("input[value=en]").check()
    page.locator("#language-save").click()
    page.wait_for_url("**/me?notice=preferences_saved")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "English" in page.locator("#me-language").inner_text()

    # Only this browser's pages go back to Chinese; the account keeps English for its messages.
    page.goto("/lang/zh_CN?next=/logout")
    page.context.clear_cookies()
    page.goto("/lang/zh_CN?next=/forgot")
    seen = len(server.sms(e164(phone)))
    page.locator("#forgot-phone").fill(phone)
    page.get_by_role("button", name="发送短信验证码").click()
    code = server.wait_for_code(e164(phone), seen)
    [text] = [t for t in server.sms(e164(phone))[seen:] if code in t]
    assert "Qianbao" in text and "验证码" not in text, text
