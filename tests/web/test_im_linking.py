"""Linking WeChat to the wallet in chromium (zh): "我的" → 绑定的聊天账号 → a one-time code;
WeChat pushes "绑定 <code>" (signed as WeChat does) → the page lists the account; unlink."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx

from qianbao.support.im import wechat
from qianbao.support.im.config import ImConfig
from tests.support.pages import notice_text, script_errors, shot, sign_up


def _push_wechat(server: Any, text: str) -> httpx.Response:
    token = ImConfig.of(server.app.state.settings).secret("wechat_token")
    timestamp, nonce = str(int(server.clock.now().timestamp())), secrets.token_hex(6)
    xml = (
        "<xml><ToUserName><![CDATA[gh_qianbaowallet]]></ToUserName>"
        "<FromUserName><![CDATA[oPageTestOpenId0000001]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{secrets.randbelow(10**15)}</MsgId></xml>"
    )
    return httpx.post(
        f"{server.url}/hooks/wechat",
        params={
            "signature": wechat.signature(token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        },
        content=xml.encode(),
        headers={"Content-Type": "text/xml"},
        timeout=10,
    )


def test_link_wechat_with_the_code_from_the_wallet(open_page: Any, server: Any) -> None:
    page = open_page(locale="zh_CN")
    sign_up(page, server, "zh_CN")
    page.goto("/me")
    page.locator("#me-linked-accounts a").click()
    page.wait_for_url("**/me/linked-accounts")
    assert page.locator("h1").inner_text() == "绑定的聊天账号"
    assert page.locator("#im-links-none").is_visible()
    page.locator("#get-link-code").click()
    code = page.locator("#link-code").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    assert f"绑定 {code}" in page.locator("main").inner_text()
    shot(page, "im-link-code-zh_CN")

    wrong = "000000" if code != "000000" else "111111"
    assert _push_wechat(server, f"绑定 {wrong}").text == "success"
    page.goto("/me/linked-accounts")
    assert page.locator("#im-links-none").is_visible()  # a wrong code links nothing
    assert _push_wechat(server, f"绑定 {code}").text == "success"
    page.goto("/me/linked-accounts")
    links = page.locator("#im-links").inner_text()
    assert "微信" in links and "oPa…001" in links
    shot(page, "im-linked-zh_CN")

    page.get_by_role("button", name="解除绑定").click()
    page.wait_for_url("**notice=unlinked")
    assert "已解除绑定" in notice_text(page)
    assert page.locator("#im-links-none").is_visible()
    assert script_errors(page) == []
