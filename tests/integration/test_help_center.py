"""The help center on a real database: shipped articles, search API, article pages, votes (one
per voter), drafts hidden from the public, staff-only editing (2FA required), sanitized HTML."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from qianbao.identity import accounts as id_accounts
from qianbao.identity import sessions
from qianbao.support.helpcenter import content, search
from qianbao.support.helpcenter.seed import ensure_default_content
from tests.support.identity import STRONG_PASSWORD, bearer, new_phone, sign_up

ARTICLE = {
    "category": "contact",
    "title_zh": "测试文章",
    "title_en": "A test article about zebras",
    "body_zh": "斑马的说明。",
    "body_en": "All about zebras and their stripes.",
    "keywords_zh": "斑马",
    "keywords_en": "zebra, stripes",
    "position": 9,
}


async def staff_token(app: FastAPI, *, role: str = "support_agent", two_factor: bool = True) -> str:
    async with app.state.db.transaction() as s:
        user = await id_accounts.create_staff(
            s,
            app.state.identity,
            phone_raw=new_phone(),
            password=STRONG_PASSWORD,
            role=role,
            name="Agent Wu",
        )
        if two_factor:
            user.totp_enabled_at = app.state.identity.clock.now()
        new = await sessions.start(
            s, app.state.identity, user, kind="api", ip=None, user_agent=None, device_token=None
        )
    return new.token


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def test_shipped_articles_are_loaded_and_searchable(client: httpx.AsyncClient):
    r = await client.get("/api/v1/help/categories", params={"locale": "en"})
    assert r.status_code == 200
    assert [c["slug"] for c in r.json()] == [c.slug for c in content.categories()]
    r = await client.get("/api/v1/help/search", params={"q": "提现多久到账", "locale": "zh_CN"})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert hits[0]["slug"] == "withdrawal-arrival-time"
    assert hits[0]["title"] == "提现多久到账"
    assert hits[0]["url"] == "/help/withdrawal-arrival-time"
    assert "到账" in hits[0]["snippet"]
    r = await client.get("/api/v1/help/articles/withdrawal-fees", params={"locale": "en"})
    assert r.status_code == 200
    body = r.json()
    assert body["title"] == "Withdrawal fees"
    assert "<table>" in body["body_html"] and "25.00" in body["body_html"]


async def test_articles_show_the_operators_contact_details(client: httpx.AsyncClient, app: FastAPI):
    support = app.state.settings.support
    support.hotline, support.email = "400-888-0000 <b>", "help@wallet.example"
    support.hotline_days = [1, 2, 3, 4, 5]
    page = await client.get("/help/contact-us", headers={"Accept-Language": "en"})
    assert "400-888-0000 &lt;b&gt;" in page.text and "{{" not in page.text
    assert "Monday to Friday, 08:00–22:00 (China time)" in page.text
    assert "help@wallet.example" in page.text
    page = await client.get("/help/contact-us", headers={"Accept-Language": "zh-CN"})
    assert "400-888-0000 &lt;b&gt;" in page.text and "周一至周五" in page.text
    r = await client.get("/api/v1/help/articles/contact-us", params={"locale": "en"})
    body = r.json()
    assert (
        "400-888-0000 <b>" in body["body_markdown"] and "{{hotline}}" not in body["body_markdown"]
    )
    assert "400-888-0000 &lt;b&gt;" in body["body_html"]
    r = await client.get("/api/v1/help/search", params={"q": "hotline number", "locale": "en"})
    assert not any("{{" in h["snippet"] for h in r.json()["hits"])


async def test_a_newer_shipped_text_replaces_only_unedited_articles(app: FastAPI):
    """An article seeded from an older release gets the new shipped text at the next start;
    one a staff member edited keeps theirs."""
    old_text = text(
        "UPDATE help_articles SET body_en = 'old text', updated_by = :by WHERE slug = :slug"
    )
    staff_id = uuid.uuid4()
    async with app.state.db.transaction() as s:
        await ensure_default_content(s)
        await s.execute(old_text, {"by": None, "slug": "contact-us"})
        await s.execute(old_text, {"by": staff_id, "slug": "payment-pin"})
        assert await ensure_default_content(s) == 0  # nothing missing
        bodies = dict(
            (await s.execute(
                text("SELECT slug, body_en FROM help_articles WHERE slug IN ('contact-us', 'payment-pin')")
            )).all()
        )  # fmt: skip
        events = (await s.execute(text(
            "SELECT count(*) FROM help_article_events e JOIN help_articles a ON a.id = e.article_id"
            " WHERE a.slug = 'contact-us' AND e.action = 'reseeded'"
        ))).scalar_one()  # fmt: skip
    shipped = {a.slug: a for a in content.articles()}
    assert (
        bodies["contact-us"] == shipped["contact-us"].body_en
        and "{{hotline}}" in bodies["contact-us"]
    )
    assert bodies["payment-pin"] == "old text"
    assert events == 1


async def test_search_service_for_other_features(app: FastAPI):
    async with app.state.db.session() as s:
        hits = await search(s, "how do I recharg my wallet", "en", 3)
        assert hits[0].article.slug == "how-to-top-up"
        assert hits[0].article.title == "How to top up your wallet"
        assert hits[0].score > 0 and hits[0].snippet
        assert await search(s, "   ", "en", 3) == []
        assert await search(s, "xyzzy qwertyuiop", "en", 3) == []


async def test_pages_home_search_article_and_no_result(client: httpx.AsyncClient):
    r = await client.get("/help", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert "How can we help?" in r.text and 'href="/help/forgot-login-password"' in r.text
    r = await client.get("/help/search", params={"q": "忘记登录密码怎么办"})
    assert r.status_code == 200
    assert 'href="/help/forgot-login-password"' in r.text
    r = await client.get("/help/search", params={"q": "xyzzy"}, headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert "No article matches your question." in r.text and 'href="/help/contact-us"' in r.text
    r = await client.get("/help/search", params={"q": " "})
    assert r.status_code == 303 and r.headers["location"] == "/help"
    r = await client.get("/help/two-factor", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200
    assert "开启二次验证" in r.text and "这篇文章有帮助吗" in r.text
    assert (await client.get("/help/no-such-article")).status_code == 404


async def test_votes_one_per_anonymous_browser_and_per_user(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    token = await form_token(fresh_client, "/help/payment-pin")
    r = await fresh_client.post(
        "/help/payment-pin/vote",
        data={"csrf_token": token, "helpful": "yes"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200, r.text
    assert 'id="vote"' in r.text and "<html" not in r.text  # the partial only
    assert "qb_help_voter" in r.headers.get("set-cookie", "")
    # The same browser votes again (changes its mind twice): still one vote.
    for helpful in ("yes", "no", "no"):
        r = await fresh_client.post(
            "/help/payment-pin/vote", data={"csrf_token": token, "helpful": helpful}
        )
        assert r.status_code == 303
    counts = (await fresh_client.get("/api/v1/help/articles/payment-pin")).json()
    assert (counts["helpful_yes"], counts["helpful_no"]) == (0, 1)
    # Another browser is another voter.
    transport = httpx.ASGITransport(app=fresh_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        other_token = await form_token(other, "/help/payment-pin")
        await other.post(
            "/help/payment-pin/vote", data={"csrf_token": other_token, "helpful": "yes"}
        )
    # A signed-in user through the API: one vote, replaced when voting again.
    _, user_token = await sign_up(fresh_client, fresh_app)
    for helpful in (True, True):
        r = await fresh_client.post(
            "/api/v1/help/articles/payment-pin/vote",
            json={"helpful": helpful},
            headers=bearer(user_token),
        )
        assert r.status_code == 200
    assert r.json() == {"helpful_yes": 2, "helpful_no": 1}
    # Voting needs the CSRF token.
    r = await fresh_client.post("/help/payment-pin/vote", data={"helpful": "yes"})
    assert r.status_code == 403


async def test_staff_create_edit_publish_and_drafts_stay_hidden(
    client: httpx.AsyncClient, app: FastAPI
):
    h = bearer(await staff_token(app))
    r = await client.post("/api/v1/help/articles", json={**ARTICLE, "slug": "zebras"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft" and r.json()["updated_by"]
    # A draft is invisible to the public: page, API and search.
    assert (await client.get("/help/zebras")).status_code == 404
    assert (await client.get("/api/v1/help/articles/zebras")).status_code == 404
    found = await client.get("/api/v1/help/search", params={"q": "zebra stripes", "locale": "en"})
    assert [hit["slug"] for hit in found.json()["hits"]] == []
    # Staff see it.
    assert (await client.get("/api/v1/help/staff/articles/zebras", headers=h)).status_code == 200
    r = await client.post("/api/v1/help/articles/zebras/publish", headers=h)
    assert r.json()["status"] == "published" and r.json()["published_at"]
    found = await client.get("/api/v1/help/search", params={"q": "zebra stripes", "locale": "en"})
    assert found.json()["hits"][0]["slug"] == "zebras"
    # An edit is searchable at once (the index is rebuilt).
    edited = {**ARTICLE, "title_en": "Giraffes instead", "body_en": "All about giraffes."}
    r = await client.put("/api/v1/help/articles/zebras", json=edited, headers=h)
    assert r.status_code == 200
    found = await client.get("/api/v1/help/search", params={"q": "giraffe", "locale": "en"})
    assert found.json()["hits"][0]["slug"] == "zebras"
    r = await client.post("/api/v1/help/articles/zebras/unpublish", headers=h)
    assert r.json()["status"] == "draft"
    assert (await client.get("/help/zebras")).status_code == 404
    found = await client.get("/api/v1/help/search", params={"q": "giraffe", "locale": "en"})
    assert found.json()["hits"] == []
    # A taken slug, an unknown category, a reserved slug.
    r = await client.post("/api/v1/help/articles", json={**ARTICLE, "slug": "zebras"}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "help.slug_taken"
    r = await client.post(
        "/api/v1/help/articles", json={**ARTICLE, "slug": "x", "category": "nope"}, headers=h
    )
    assert r.status_code == 422 and r.json()["code"] == "help.article_invalid"
    r = await client.post("/api/v1/help/articles", json={**ARTICLE, "slug": "search"}, headers=h)
    assert r.status_code == 422


async def test_only_staff_with_two_factor_edit(fresh_client: httpx.AsyncClient, fresh_app: FastAPI):
    _, user_token = await sign_up(fresh_client, fresh_app)
    body = {**ARTICLE, "slug": "not-allowed"}
    r = await fresh_client.post("/api/v1/help/articles", json=body, headers=bearer(user_token))
    assert r.status_code == 403 and r.json()["code"] == "help.staff_only"
    r = await fresh_client.get("/api/v1/help/staff/articles", headers=bearer(user_token))
    assert r.status_code == 403
    r = await fresh_client.post(
        "/api/v1/help/articles/payment-pin/unpublish", headers=bearer(user_token)
    )
    assert r.status_code == 403
    no_2fa = bearer(await staff_token(fresh_app, two_factor=False))
    r = await fresh_client.post("/api/v1/help/articles", json=body, headers=no_2fa)
    assert r.status_code == 403 and r.json()["code"] == "identity.staff_needs_two_factor"
    assert (await fresh_client.post("/api/v1/help/articles", json=body)).status_code == 401
    # Nothing changed.
    assert (await fresh_client.get("/api/v1/help/articles/payment-pin")).status_code == 200
    staff = bearer(await staff_token(fresh_app, role="admin"))
    assert (
        await fresh_client.get("/api/v1/help/staff/articles/not-allowed", headers=staff)
    ).status_code == 404


async def test_console_pages_for_staff_only(fresh_client: httpx.AsyncClient, fresh_app: FastAPI):
    # Not signed in: to the sign-in page. A user: 403. Staff without 2FA: refused.
    r = await fresh_client.get("/console/help")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    _, user_token = await sign_up(fresh_client, fresh_app)
    assert (await fresh_client.get("/console/help", headers=bearer(user_token))).status_code == 403
    no_2fa = bearer(await staff_token(fresh_app, two_factor=False))
    assert (await fresh_client.get("/console/help", headers=no_2fa)).status_code == 403
    h = bearer(await staff_token(fresh_app, role="supervisor"))
    r = await fresh_client.get("/console/help", headers=h)
    assert r.status_code == 200 and "/console/help/payment-pin" in r.text
    token = await form_token(fresh_client, "/help")
    form = {**{k: str(v) for k, v in ARTICLE.items()}, "csrf_token": token, "slug": "okapi"}
    r = await fresh_client.post("/console/help/new", data={**form, "action": "preview"}, headers=h)
    assert r.status_code == 200 and "<p>All about zebras and their stripes.</p>" in r.text
    assert (
        await fresh_client.get("/api/v1/help/staff/articles/okapi", headers=h)
    ).status_code == 404
    r = await fresh_client.post("/console/help/new", data={**form, "action": "save"}, headers=h)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/help/okapi")
    r = await fresh_client.post(
        "/console/help/okapi/publish", data={"csrf_token": token}, headers=h
    )
    assert r.status_code == 303
    assert (await fresh_client.get("/help/okapi")).status_code == 200
    r = await fresh_client.get("/console/help/okapi", headers=h)
    assert "Agent Wu" in r.text  # who changed it


async def test_markdown_html_is_escaped_and_sanitized(client: httpx.AsyncClient, app: FastAPI):
    h = bearer(await staff_token(app))
    evil = {
        **ARTICLE,
        "slug": "evil",
        "body_en": (
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
            "[click](javascript:alert(3)) [ok](/help/contact-us)\n\n"
            '<a href="https://evil.example" onclick="x()">raw</a>'
        ),
        "title_en": "<b>Bold</b> title",
    }
    assert (await client.post("/api/v1/help/articles", json=evil, headers=h)).status_code == 201
    await client.post("/api/v1/help/articles/evil/publish", headers=h)
    page = (await client.get("/help/evil", headers={"Accept-Language": "en"})).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert 'href="javascript:' not in page
    assert 'href="/help/contact-us"' in page
    assert "<b>Bold</b>" not in page and "&lt;b&gt;Bold&lt;/b&gt; title" in page
    html = (await client.get("/api/v1/help/articles/evil?locale=en")).json()["body_html"]
    assert "<script" not in html and '<a href="https://evil' not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("path", ["/openapi.json"])
async def test_api_is_documented(client: httpx.AsyncClient, path: str):
    paths = (await client.get(path)).json()["paths"]
    for p in (
        "/api/v1/help/search",
        "/api/v1/help/articles/{slug}",
        "/api/v1/help/articles",
        "/api/v1/help/articles/{slug}/publish",
    ):
        assert p in paths
