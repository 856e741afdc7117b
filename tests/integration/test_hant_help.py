"""Traditional Chinese in the help center: a question typed in Traditional characters (and in
Taiwanese words) finds the same articles as in Simplified, and titles, snippets, categories and
pages are shown in Traditional; the HTTP edge negotiates zh_Hant."""

from __future__ import annotations

import httpx
import pytest

from qianbao.kernel.hant import to_hant
from qianbao.support.helpcenter import search
from tests.integration.test_help_search import ZH

SIMPLIFIED_ONLY = set("们这说后发钱账户对时请还过从应该让证码为进银页点击转现额实认单问题关开")

# Taiwanese wording (not only other characters) for the same questions.
TAIWANESE = [
    ("收不到簡訊驗證碼", "sms-code-not-received"),
    ("有人自稱客服讓我轉帳到安全帳戶", "fake-customer-service"),
    ("忘記登入密碼", "forgot-login-password"),
    ("儲值了餘額沒變", "topup-not-arrived"),
    ("帳戶被盜刷", "unauthorized-transaction"),
]


async def test_each_question_in_traditional_finds_what_the_simplified_one_finds(session):
    misses = []
    for question, expected in ZH:
        simplified = [h.article.slug for h in await search(session, question, "zh_CN", 3)]
        traditional = to_hant(question)
        hits = await search(session, traditional, "zh_Hant", 3)
        if [h.article.slug for h in hits] != simplified or expected not in simplified:
            misses.append((traditional, expected, [h.article.slug for h in hits], simplified))
        for hit in hits:
            assert not SIMPLIFIED_ONLY & set(hit.article.title + hit.snippet), hit
    assert misses == []


@pytest.mark.parametrize(("question", "expected"), TAIWANESE)
async def test_taiwanese_words_find_their_article(session, question, expected):
    slugs = [h.article.slug for h in await search(session, question, "zh_Hant", 3)]
    assert expected in slugs, slugs


async def test_api_and_pages_speak_traditional(client: httpx.AsyncClient):
    r = await client.get("/api/v1/help/categories", params={"locale": "zh_Hant"})
    assert r.status_code == 200
    names = [c["name"] for c in r.json()]
    assert "帳戶與安全" in names and not SIMPLIFIED_ONLY & set("".join(names))

    r = await client.get("/api/v1/help/search", params={"q": "提現多久到帳", "locale": "zh_Hant"})
    assert r.status_code == 200
    first = r.json()["hits"][0]
    assert first["slug"] == "withdrawal-arrival-time"
    assert "到帳" in first["title"] + first["snippet"] or "多久" in first["title"]

    r = await client.get("/api/v1/help/articles/withdrawal-fees", params={"locale": "zh_Hant"})
    assert r.status_code == 200
    assert "手續費" in r.json()["title"]

    page = await client.get("/help/withdrawal-fees", headers={"Accept-Language": "zh-TW"})
    assert page.status_code == 200
    assert page.headers["content-language"] == "zh-Hant"
    assert '<html lang="zh-Hant"' in page.text
    assert "提現手續費" in page.text and "提现手续费" not in page.text

    page = await client.get(
        "/help/search", params={"q": "忘記登入密碼"}, headers={"Accept-Language": "zh-HK"}
    )
    assert page.status_code == 200 and "/help/forgot-login-password" in page.text


async def test_the_language_switch_remembers_traditional(client: httpx.AsyncClient):
    r = await client.get("/lang/zh_Hant?next=/help")
    assert r.status_code == 303 and r.headers["location"] == "/help"
    page = await client.get("/help", headers={"Accept-Language": "en"})
    assert '<html lang="zh-Hant"' in page.text
    assert "繁體中文" in page.text and "简体中文" in page.text and "English" in page.text
