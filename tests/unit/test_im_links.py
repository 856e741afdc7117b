"""The bot's answers carry the site's own links as paths; in WeChat or Telegram they must be
whole addresses (a chat app cannot open '/help/…')."""

from __future__ import annotations

from qianbao.support.im.outbound import absolute_links

SITE = "http://localhost:8000"


def test_paths_become_addresses_and_the_rest_stays():
    text = "查看全文：/help/topup-pending\n请打开 /wallet/topup/42（待支付）。See /help/x. 1/2, https://x.test/a"
    assert absolute_links(text, SITE + "/") == (
        "查看全文：http://localhost:8000/help/topup-pending\n"
        "请打开 http://localhost:8000/wallet/topup/42（待支付）。"
        "See http://localhost:8000/help/x. 1/2, https://x.test/a"
    )
