"""Official channels (D6) and the contact page (E4) on a real database: normalisation, yes/no
answers, deactivation, staff agent ids, staff-only registry management, call-back requests and
the per-IP lookup limit."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from qianbao.identity import accounts as id_accounts
from qianbao.identity import sessions
from qianbao.support.channels import normalize, service
from qianbao.support.channels.errors import ChannelNotFound
from tests.support.identity import STRONG_PASSWORD, bearer, new_phone, sign_up

NOT_OURS = {"official": False, "kind": None, "label": None, "locale": "en"}


# Sign-up checks its code on a connection of its own: these tests run on a fresh database that
# really commits (the fixtures of the same name in conftest share one rolled-back transaction).
@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


async def staff(
    app: FastAPI, *, role: str = "support_agent", two_factor: bool = True, name: str = "Agent Wu"
) -> tuple[str, object]:
    async with app.state.db.transaction() as s:
        user = await id_accounts.create_staff(
            s,
            app.state.identity,
            phone_raw=new_phone(),
            password=STRONG_PASSWORD,
            role=role,
            name=name,
        )
        if two_factor:
            user.totp_enabled_at = app.state.identity.clock.now()
        new = await sessions.start(
            s, app.state.identity, user, kind="api", ip=None, user_agent=None, device_token=None
        )
    return new.token, user


async def check(client: httpx.AsyncClient, value: str, locale: str = "en") -> dict:
    r = await client.get("/api/v1/verify", params={"value": value, "locale": locale})
    assert r.status_code == 200, r.text
    return r.json()


def test_normalisation():
    for raw in ("+86 138 0013 8000", "13800138000", "138-0013-8000", "tel:+8613800138000"):
        assert normalize.phone(raw) == "+8613800138000", raw
    assert normalize.phone("95188") == "95188"  # a short service number keeps its digits
    assert normalize.phone("call me") is None
    for raw in (
        "https://www.qianbao.example/path",
        "WWW.Qianbao.Example",
        "http://qianbao.example:8080/?q=1#x",
        "qianbao.example.",
    ):
        assert normalize.website(raw) == "qianbao.example", raw
    # user info before the host is a classic trick: the real host is what counts
    assert normalize.website("https://qianbao.example@evil.test/login") == "evil.test"
    assert normalize.website("http://qiànbao.example").startswith("xn--")  # a look-alike
    assert normalize.email("  Support@QianBao.EXAMPLE ") == "support@qianbao.example"
    assert normalize.email("mailto:Help@Qianbao.example") == "help@qianbao.example"
    assert normalize.email("not-an-address@") is None
    assert normalize.social("WeChat: @QianbaoWallet") == "wechat:qianbaowallet"
    assert normalize.agent_id("qb 123456") == "QB-123456"
    assert normalize.candidates("QB-1234") == [("agent_id", "QB-1234")]
    assert normalize.candidates("Support@Qianbao.example") == [("email", "support@qianbao.example")]
    assert normalize.candidates("   ") == []


async def test_official_and_unknown_answers(client: httpx.AsyncClient):
    # The defaults of the settings are official from the first request on.
    assert await check(client, "400 000 1234") == {
        "official": True,
        "kind": "phone",
        "label": "Customer service hotline",
        "locale": "en",
    }
    assert (await check(client, "+86 400-000-1234", "zh_CN"))["label"] == "客服热线"
    website = await check(client, "https://www.qianbao.example/path")
    assert (website["official"], website["kind"]) == (True, "website")
    assert (await check(client, "SUPPORT@Qianbao.Example"))["label"] == "Customer service e-mail"
    for fake in (
        "+86 139 0000 0000",
        "https://qianbao.example.evil.test",
        "https://qianbao-example.test",
        "support@qianbao.example.test",
        "@QianbaoOfficial",
        "QB-000000",
    ):
        assert await check(client, fake) == NOT_OURS, fake
    r = await client.get("/api/v1/verify", params={"value": ""})
    assert r.status_code == 422


async def test_operator_adds_and_deactivates_a_channel(app: FastAPI, client: httpx.AsyncClient):
    token, _ = await staff(app, role="supervisor")
    assert await check(client, "13800138000") == NOT_OURS
    r = await client.post(
        "/api/v1/support/channels",
        json={
            "kind": "phone",
            "value": "+86 138 0013 8000",
            "label_zh": "投诉专线",
            "label_en": "Complaints line",
        },
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    channel = r.json()
    assert (channel["value"], channel["source"], channel["active"]) == (
        "+8613800138000",
        "operator",
        True,
    )
    for spelling in ("13800138000", "+86 138 0013 8000", "138-0013-8000"):
        assert (await check(client, spelling))["label"] == "Complaints line"
    r = await client.post(
        "/api/v1/support/channels",
        json={"kind": "phone", "value": "13800138000", "label_zh": "x", "label_en": "x"},
        headers=bearer(token),
    )
    assert r.status_code == 409 and r.json()["code"] == "channels.exists"
    r = await client.post(
        f"/api/v1/support/channels/{channel['id']}/deactivate", headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert await check(client, "13800138000") == NOT_OURS
    # A social account by its handle alone, and a bad value refused.
    r = await client.post(
        "/api/v1/support/channels",
        json={
            "kind": "social",
            "value": "WeChat: @QianbaoService",
            "label_zh": "微信公众号",
            "label_en": "WeChat official account",
        },
        headers=bearer(token),
    )
    assert r.status_code == 201 and r.json()["value"] == "wechat:qianbaoservice"
    assert (await check(client, "@qianbaoservice"))["label"] == "WeChat official account"
    # The messaging channels' own accounts (settings.im) are official from the start.
    assert (await check(client, "wechat:qianbaowallet"))["official"] is True
    assert (await check(client, "telegram: @QianbaoBot"))["official"] is True
    r = await client.post(
        "/api/v1/support/channels",
        json={"kind": "website", "value": "not a site", "label_zh": "x", "label_en": "x"},
        headers=bearer(token),
    )
    assert r.status_code == 422 and r.json()["code"] == "channels.invalid"
    listed = (await client.get("/api/v1/support/channels", headers=bearer(token))).json()
    assert {c["value"] for c in listed} >= {
        "+8613800138000",
        "+864000001234",
        "qianbao.example",
        "support@qianbao.example",
    }
    assert next(c for c in listed if c["value"] == "+8613800138000")["active"] is False


async def test_agent_ids_of_staff(app: FastAPI, client: httpx.AsyncClient):
    _, agent = await staff(app, name="吴敏")
    async with app.state.db.transaction() as s:
        agent_id = await service.agent_id_for(s, agent.id)
        assert re.fullmatch(r"QB-\d{6}", agent_id)
        assert await service.agent_id_for(s, agent.id) == agent_id  # stable
        assert await service.active_agent_contacts(s, agent.id) == []
    answer = await check(client, agent_id.lower().replace("-", " "), "zh_CN")
    assert answer == {
        "official": True,
        "kind": "agent_id",
        "label": f"客服 吴敏（工号 {agent_id}）",
        "locale": "zh_CN",
    }
    # A frozen staff account is no longer one of ours; nor is a former agent.
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_id(s, agent.id)
        user.frozen_at = app.state.identity.clock.now()
    assert await check(client, agent_id) == NOT_OURS
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_id(s, agent.id)
        user.frozen_at = None
        user.role = "user"
    assert await check(client, agent_id) == NOT_OURS
    phone, _ = await sign_up(client, app)
    async with app.state.db.transaction() as s:
        customer = await id_accounts.by_phone(s, "+86" + phone)
        assert customer is not None
        with pytest.raises(ChannelNotFound):
            await service.agent_id_for(s, customer.id)


async def test_registry_management_is_for_staff_only(app: FastAPI, client: httpx.AsyncClient):
    body = {"kind": "website", "value": "pay.qianbao.example", "label_zh": "x", "label_en": "x"}
    _, user_token = await sign_up(client, app)
    r = await client.get("/api/v1/support/channels", headers=bearer(user_token))
    assert r.status_code == 403 and r.json()["code"] == "channels.staff_only"
    r = await client.post("/api/v1/support/channels", json=body, headers=bearer(user_token))
    assert r.status_code == 403
    no_2fa, _ = await staff(app, role="supervisor", two_factor=False)
    r = await client.post("/api/v1/support/channels", json=body, headers=bearer(no_2fa))
    assert r.status_code == 403 and r.json()["code"] == "identity.staff_needs_two_factor"
    agent, _ = await staff(app)
    assert (await client.get("/api/v1/support/channels", headers=bearer(agent))).status_code == 200
    r = await client.post("/api/v1/support/channels", json=body, headers=bearer(agent))
    assert r.status_code == 403 and r.json()["code"] == "channels.operators_only"
    assert (await client.post("/api/v1/support/channels", json=body)).status_code == 401
    assert await check(client, "pay.qianbao.example") == NOT_OURS  # nothing was added
    # Pages: a customer is refused the console; an agent reads call-backs, not the registry.
    assert (await client.get("/console/channels", headers=bearer(user_token))).status_code == 403
    assert (await client.get("/console/callbacks", headers=bearer(user_token))).status_code == 403
    assert (await client.get("/console/channels", headers=bearer(agent))).status_code == 403
    r = await client.get("/console/callbacks", headers=bearer(agent))
    assert r.status_code == 200 and re.search(r"QB-\d{6}", r.text)
    r = await client.get("/console/channels", headers=bearer(no_2fa))
    assert r.status_code == 403
    r = await client.get("/console/channels")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_callback_request_flow(app: FastAPI, client: httpx.AsyncClient):
    phone, token = await sign_up(client, app)
    r = await client.get("/contact", headers={**bearer(token), "Accept-Language": "en"})
    assert r.status_code == 200
    assert "400-000-1234" in r.text and "Every day, 08:00–22:00 (China time)" in r.text
    assert f"+86 {phone[:3]}****{phone[-4:]}" in r.text and 'name="window"' in r.text
    r = await client.post(
        "/api/v1/support/callbacks",
        json={"window": "17-20", "topic": "withdrawal", "note": "where is my money"},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["status"] == "new" and mine["phone"] == f"+86 {phone[:3]}****{phone[-4:]}"
    r = await client.post(
        "/api/v1/support/callbacks",
        json={"window": "asap", "topic": "other"},
        headers=bearer(token),
    )
    assert r.status_code == 409 and r.json()["code"] == "callbacks.already_open"
    r = await client.post(
        "/api/v1/support/callbacks",
        json={"window": "03-06", "topic": "other"},
        headers=bearer(token),
    )
    assert r.status_code in (409, 422)
    r = await client.get("/api/v1/support/callbacks", headers=bearer(token))
    assert r.status_code == 403
    agent, _ = await staff(app)
    listed = (await client.get("/api/v1/support/callbacks", headers=bearer(agent))).json()
    assert [(c["id"], c["phone"], c["topic"]) for c in listed] == [
        (mine["id"], "+86" + phone, "withdrawal")
    ]
    r = await client.get("/console/callbacks", headers=bearer(agent))
    assert "+86" + phone in r.text and "where is my money" in r.text
    r = await client.post(f"/api/v1/support/callbacks/{mine['id']}/done", headers=bearer(agent))
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["done_at"]
    assert (await client.get("/api/v1/support/callbacks", headers=bearer(agent))).json() == []
    r = await client.post(
        "/api/v1/support/callbacks",
        json={"window": "asap", "topic": "fraud"},
        headers=bearer(token),
    )
    assert r.status_code == 201  # a new request once the last one is done
    r = await client.post("/api/v1/support/callbacks/not-a-uuid/done", headers=bearer(agent))
    assert r.status_code == 404


async def test_contact_and_verify_pages(client: httpx.AsyncClient):
    r = await client.get("/contact", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200
    assert "每天 08:00–22:00（北京时间）" in r.text and 'href="/verify"' in r.text
    assert 'href="/login?next=/contact"' in r.text  # signed out: no call-back form
    r = await client.get("/verify", headers={"Accept-Language": "en"})
    assert "we never ask you to move money to a 'safe account'" in r.text
    assert "No Qianbao agent is talking to you" not in r.text  # only for a signed-in user
    token = re.search(r'name="csrf-token" content="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    r = await client.post(
        "/verify",
        data={"csrf_token": token, "value": "400 000 1234"},
        headers={"Accept-Language": "en"},
    )
    assert "Yes, this is an official Qianbao channel: Customer service hotline" in r.text
    r = await client.post(
        "/verify",
        data={"csrf_token": token, "value": "+86 139 1234 5678"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert r.status_code == 200 and "is-fake" in r.text


async def test_signed_in_user_is_told_nobody_is_talking(app: FastAPI, client: httpx.AsyncClient):
    _, token = await sign_up(client, app)
    r = await client.get("/verify", headers={**bearer(token), "Accept-Language": "en"})
    assert "No Qianbao agent is talking to you right now." in r.text


async def test_lookups_are_limited_per_ip(app: FastAPI, client: httpx.AsyncClient):
    app.state.settings.support.verify_max_lookups = 3
    for _ in range(3):
        await check(client, "400 000 1234")
    r = await client.get("/api/v1/verify", params={"value": "400 000 1234"})
    assert r.status_code == 429 and r.json()["code"] == "channels.lookup_limit"
    r = await client.get("/verify")
    token = re.search(r'name="csrf-token" content="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    r = await client.post("/verify", data={"csrf_token": token, "value": "400 000 1234"})
    assert r.status_code == 429 and "is-official" not in r.text
    # Another address is not affected.
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert (await check(other, "400 000 1234"))["official"] is True
