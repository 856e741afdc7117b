"""Traditional Chinese (zh_Hant): negotiation, the generated catalog and files, conversion."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from qianbao.kernel.hant import overrides, to_hans, to_hant, zh_text
from qianbao.kernel.translations import (
    HTML_LANG,
    LANGUAGE_NAMES,
    LOCALES,
    gettext,
    is_chinese,
    negotiate,
    normalize,
)
from qianbao.web.formatting import format_datetime, format_money

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "src" / "qianbao" / "locale"
# Common characters that exist only in Simplified: none may be left in a Traditional text.
SIMPLIFIED_ONLY = set("们这说后发钱账户对时请还过从应该让证码为进银页点击转现额实认单问题关开")


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-TW", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("zh-Hant-TW", "zh_Hant"),
        ("zh-Hant-HK", "zh_Hant"),
        ("zh-Hant-CN", "zh_Hant"),  # the script the reader asked for wins over the region
        ("zh_Hant", "zh_Hant"),
        ("zh-tw", "zh_Hant"),
        ("yue-HK", "zh_Hant"),
        ("zh", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh-SG", "zh_CN"),
        ("zh-Hans", "zh_CN"),
        ("zh-Hans-HK", "zh_CN"),
        ("en-HK", "en"),
        ("ja-JP", None),
    ],
)
def test_language_tags_map_to_the_right_script(tag, expected):
    assert normalize(tag) == expected


def test_accept_language_and_cookie_pick_traditional():
    assert negotiate(None, "zh-TW,zh;q=0.9,en;q=0.8", "zh_CN") == "zh_Hant"
    assert negotiate(None, "en;q=0.5,zh-HK;q=0.9", "zh_CN") == "zh_Hant"
    assert negotiate(None, "zh-CN,zh-TW;q=0.5", "zh_CN") == "zh_CN"
    assert negotiate("zh_Hant", "en-US", "zh_CN") == "zh_Hant"
    assert negotiate("zh_CN", "zh-TW", "en") == "zh_CN"


def test_the_locale_is_declared_everywhere():
    assert LOCALES == ("zh_CN", "zh_Hant", "en")
    assert HTML_LANG["zh_Hant"] == "zh-Hant"
    assert LANGUAGE_NAMES == {"zh_CN": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
    assert is_chinese("zh_Hant") and is_chinese("zh_CN") and not is_chinese("en")


def _catalog(locale: str):
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh)


def test_every_simplified_translation_has_a_traditional_one_without_simplified_characters():
    zh, hant = _catalog("zh_CN"), _catalog("zh_Hant")
    missing, simplified = [], []
    for message in zh:
        if not message.id or not message.string:
            continue
        found = hant.get(message.id, message.context)
        strings = found.string if found is not None else None
        if not strings or (isinstance(strings, tuple) and not all(strings)):
            missing.append(message.id)
            continue
        for text in strings if isinstance(strings, tuple) else (strings,):
            if SIMPLIFIED_ONLY & set(text):
                simplified.append((message.id, text))
    assert not missing, f"{len(missing)} without zh_Hant (run `make translations`): {missing[:5]}"
    assert not simplified, simplified[:5]
    assert len(hant) >= len(zh) - len(zh.obsolete)


def test_traditional_catalog_translates_and_keeps_placeholders():
    # A message with a {placeholder} (an e-mail / SMS template) and a common page text.
    text = gettext("zh_Hant", "This page does not exist.")
    assert text == to_hant(gettext("zh_CN", "This page does not exist."))
    assert text != "This page does not exist." and not SIMPLIFIED_ONLY & set(text)
    for message in _catalog("zh_Hant"):
        if message.id and isinstance(message.id, str) and "{" in message.id and message.string:
            wanted = {p for p in message.id.split("{")[1:] if "}" in p}
            names = {p.split("}")[0] for p in wanted}
            for name in names:
                assert "{" + name + "}" in message.string, (message.id, message.string)


def test_generated_files_are_up_to_date(tmp_path):
    """The catalog and legal pages equal what the converter makes of today's zh_CN."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "hant_catalog.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert Path("src/qianbao/locale/zh_Hant/LC_MESSAGES/messages.po") in made
    assert Path("src/qianbao/web/templates/public/legal/terms.zh_Hant.html") in made
    stale = [str(p) for p in made if (ROOT / p).read_bytes() != (tmp_path / p).read_bytes()]
    assert not stale, f"not up to date, run `make translations`: {stale}"


def test_conversion_uses_taiwan_phrasing_and_the_overrides():
    assert to_hant("短信验证码") == "簡訊驗證碼"
    assert to_hant("转账到银行账户") == "轉帳到銀行帳戶"  # the [phrases] overrides: 帳
    assert to_hant("点“确认”") == "點「確認」"
    assert to_hant("Qianbao 123") == "Qianbao 123"
    assert zh_text("钱包", "zh_Hant") == "錢包"
    assert zh_text("钱包", "zh_CN") == "钱包"
    assert set(overrides()) == {"phrases", "messages", "search"}


def test_queries_in_traditional_read_as_simplified():
    assert to_hans("收不到簡訊驗證碼") == "收不到短信验证码"
    assert to_hans("有人自稱客服讓我轉帳到安全帳戶") == "有人自称客服让我转账到安全账户"
    assert to_hans("我的儲值怎麼還沒到帳") == "我的充值怎么还没到账"
    assert to_hans("忘記登入密碼") == "忘记登录密码"
    assert to_hans("how to top up") == "how to top up"


def test_babel_formats_dates_and_money_in_traditional():
    when = datetime(2026, 11, 22, 1, 17, tzinfo=UTC)
    assert format_datetime(when, "zh_Hant") == "2026年11月22日 上午9:17"
    assert format_money(123456, "CNY", "zh_Hant") == "CN¥1,234.56"
    assert format_money(123456, "HKD", "zh_Hant") == "HK$1,234.56"
