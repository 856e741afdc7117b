"""The HTTP edge: health, problem+json, pages in both languages, CSRF, size limits, headers."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

JSON = {"Accept": "application/json"}


class EchoBody(BaseModel):
    amount: str
    count: int


async def test_healthz_and_readyz(client: httpx.AsyncClient):
    r = await client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    r = await client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["schema"]["ok"] is True
    assert body["schema"]["current"] == body["schema"]["expected"]


async def test_readyz_reports_a_schema_behind_the_code(client: httpx.AsyncClient, app: FastAPI):
    app.state.schema_head = "9999_not_applied"
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["schema"]["ok"] is False


async def test_unknown_api_path_is_problem_json_in_the_users_language(client: httpx.AsyncClient):
    r = await client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "http.not_found"
    assert body["title"] == "This page does not exist."
    assert body["type"] == "/problems/http.not_found"
    assert body["instance"] == "/api/v1/nothing-here"
    assert body["request_id"] == r.headers["x-request-id"]
    r = await client.get("/api/v1/nothing-here", headers={"Accept-Language": "zh-CN"})
    assert r.json()["title"] == "该页面不存在。"


async def test_friendly_404_page_in_both_languages(client: httpx.AsyncClient):
    r = await client.get("/no/such/page", headers={"Accept-Language": "en", "Accept": "text/html"})
    assert r.status_code == 404
    assert "We could not find that page" in r.text
    assert '<html lang="en">' in r.text
    r = await client.get(
        "/no/such/page", headers={"Accept-Language": "zh-CN,zh", "Accept": "text/html"}
    )
    assert "找不到该页面" in r.text
    assert '<html lang="zh-CN">' in r.text


async def test_home_page_in_both_languages(client: httpx.AsyncClient):
    r = await client.get("/", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert "Your wallet, with real help" in r.text
    r = await client.get("/", headers={"Accept-Language": "zh-CN"})
    assert "您的钱包，有真人帮您" in r.text
    # The operator default (zh_CN) applies when the browser states nothing we support.
    r = await client.get("/", headers={"Accept-Language": "fr"})
    assert "您的钱包，有真人帮您" in r.text


async def test_language_choice_is_remembered_and_beats_the_header(client: httpx.AsyncClient):
    r = await client.get("/lang/en?next=/", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    assert "qb_lang=en" in r.headers["set-cookie"]
    assert "HttpOnly" in r.headers["set-cookie"]
    r = await client.get("/", headers={"Accept-Language": "zh-CN"})
    assert "Your wallet, with real help" in r.text
    r = await client.get("/lang/xx?next=https://evil.example/")
    assert r.headers["location"] == "/"


async def test_security_headers_and_request_id(client: httpx.AsyncClient):
    r = await client.get("/", headers={"X-Request-ID": "abc12345-trace"})
    h = r.headers
    assert "default-src 'self'" in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "same-origin"
    assert h["cache-control"] == "no-store"
    assert h["x-request-id"] == "abc12345-trace"
    # A request id that could smuggle log content is replaced by our own.
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


def _csrf_pair(page: httpx.Response) -> tuple[str, str]:
    cookie = page.cookies.get("qb_csrf")
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert cookie
    assert token
    return cookie, token.group(1)


async def test_form_post_without_csrf_token_is_refused(client: httpx.AsyncClient):
    r = await client.post("/", data={"x": "1"}, headers={"Accept-Language": "en"})
    assert r.status_code == 403
    assert "did not come from this site" in r.text
    r = await client.post("/", data={"x": "1"}, headers=JSON)
    assert r.json()["code"] == "csrf.failed"


async def test_form_post_with_the_pages_csrf_token_passes_the_guard(client: httpx.AsyncClient):
    page = await client.get("/")
    _, token = _csrf_pair(page)
    # "/" accepts no POST, so passing the guard shows as 405 (not 403).
    r = await client.post("/", data={"csrf_token": token}, headers=JSON)
    assert r.status_code == 405
    assert r.json()["code"] == "http.method_not_allowed"
    r = await client.post("/", content=b"", headers={"X-CSRF-Token": token, **JSON})
    assert r.status_code == 405
    # A token minted for another cookie is useless.
    r = await client.post("/", data={"csrf_token": "0" * 64}, headers=JSON)
    assert r.status_code == 403


async def test_multipart_form_carries_its_token_in_a_field(client: httpx.AsyncClient):
    page = await client.get("/")
    _, token = _csrf_pair(page)
    files = {"file": ("a.txt", b"hello", "text/plain")}
    r = await client.post("/", data={"csrf_token": token}, files=files, headers=JSON)
    assert r.status_code == 405
    r = await client.post("/", data={"csrf_token": "nope"}, files=files, headers=JSON)
    assert r.status_code == 403


async def test_oversized_bodies_are_refused_with_or_without_content_length(
    client: httpx.AsyncClient, app: FastAPI
):
    limit = app.state.settings.http.max_body_bytes
    r = await client.post(
        "/api/v1/anything",
        content=b"{" + b" " * limit + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["code"] == "request.too_large"

    async def chunks():
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    r = await client.post(
        "/api/v1/anything", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413


async def test_api_bodies_must_be_json(client: httpx.AsyncClient):
    r = await client.post("/api/v1/anything", data={"a": "b"})
    assert r.status_code == 415
    assert r.json()["code"] == "request.unsupported_media_type"
    r = await client.post("/api/v1/anything", json={"a": "b"})
    assert r.status_code == 404  # reached routing: no CSRF needed for a JSON API call


async def test_unexpected_errors_are_a_500_problem_with_headers(
    client: httpx.AsyncClient, app: FastAPI
):
    async def boom() -> None:
        raise RuntimeError("secret detail that must not leak")

    app.add_api_route("/api/v1/test-boom", boom)
    app.add_api_route("/test-boom", boom)
    r = await client.get("/api/v1/test-boom", headers={"Accept-Language": "en"})
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "internal"
    assert "secret detail" not in r.text
    assert body["request_id"] == r.headers["x-request-id"]
    assert "default-src 'self'" in r.headers["content-security-policy"]
    r = await client.get("/test-boom", headers={"Accept-Language": "zh-CN", "Accept": "text/html"})
    assert r.status_code == 500
    assert "我们这边出了点问题" in r.text
    assert r.headers["x-request-id"] in r.text


async def test_validation_errors_list_the_fields(client: httpx.AsyncClient, app: FastAPI):
    async def echo(body: EchoBody) -> dict:
        return body.model_dump()

    app.add_api_route("/api/v1/test-echo", echo, methods=["POST"])
    r = await client.post("/api/v1/test-echo", json={"count": "x"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "request.validation_failed"
    assert {e["field"] for e in body["errors"]} == {"amount", "count"}


async def test_openapi_and_interactive_docs_are_served_locally(client: httpx.AsyncClient):
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["info"]["title"] == "Qianbao API"
    assert "/healthz" in spec["paths"]
    r = await client.get("/docs")
    assert r.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in r.text
    assert "cdn" not in r.text.lower()
    r = await client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert r.status_code == 200


async def test_pwa_manifest_icons_and_service_worker(client: httpx.AsyncClient):
    r = await client.get("/manifest.webmanifest", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/manifest+json")
    manifest = r.json()
    assert manifest["name"] == "Qianbao wallet"
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        icon_response = await client.get(icon["src"])
        assert icon_response.status_code == 200, icon["src"]
    assert (await client.get("/manifest.webmanifest", headers={"Accept-Language": "zh"})).json()[
        "name"
    ] == "钱包"
    r = await client.get("/sw.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert (await client.get("/favicon.ico")).status_code == 200
    assert (await client.get("/static/vendor/htmx/htmx.min.js")).status_code == 200


async def test_problem_pages_explain_codes(client: httpx.AsyncClient):
    r = await client.get("/problems/request.too_large", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert "What you sent is too large." in r.text
