"""Outbound webhooks (Standard Webhooks), delivered over real HTTP to a receiver on localhost:
signed events for a merchant's payments, retries on the schedule, an endpoint switched off after
failing for good (and its staff told), resending, secret rotation with an overlap, several
dispatchers at once delivering each event once, and the addresses we refuse to send to (SSRF),
at registration and again at connection time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from qianbao import webhooks
from qianbao.identity.models import User
from qianbao.kernel.clock import TestClock
from qianbao.kernel.errors import DomainError
from qianbao.merchants import onboarding
from qianbao.notifications import inbox
from qianbao.settings import Settings
from qianbao.webhooks import targets
from qianbao.webhooks.models import WebhookDelivery, WebhookEvent
from qianbao.webhooks.targets import is_public, literal_address
from tests.support.identity import bearer, deliver
from tests.support.merchants import make_merchant
from tests.support.secrets import remember
from tests.support.wallet import PIN, ready_user
from tests.support.webhook_receiver import Received, Receiver

NOW = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)  # a Monday, 10:30 in Shanghai
EVENTS = ["payment.succeeded", "checkout.session.completed", "refund.succeeded"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.webhooks.allow_private_targets = True  # the receiver listens on localhost
    return settings


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    try:
        yield r
    finally:
        await r.stop()


def signed_by(secret: str, r: Received) -> bool:
    """The check a receiver makes (Standard Webhooks), without its wall-clock window."""
    ts = datetime.fromtimestamp(int(r.headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(r.headers["webhook-id"], ts, r.body)
    return expected in r.headers["webhook-signature"].split(" ")


async def dispatch(app: FastAPI) -> int:
    return await webhooks.dispatch_due(app.state.db, app.state.settings, app.state.clock)


async def endpoint(client: httpx.AsyncClient, shop, url: str, types=EVENTS) -> dict:
    r = await client.post(
        "/api/v1/merchant/webhook-endpoints",
        json={"url": url, "event_types": types, "description": "till"},
        headers=shop.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["secret"].startswith("whsec_")
    remember(body["secret"])
    return body


async def pay(client: httpx.AsyncClient, shop, token: str, amount: str = "28.00", pin=PIN):
    r = await client.post(
        "/api/v1/merchant/checkout-sessions",
        json={"amount": amount, "currency": "CNY", "order_reference": uuid.uuid4().hex[:12]},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    cs = r.json()
    paid = await client.post(
        f"/api/v1/pay/checkout-sessions/{cs['id']}/pay", json={"pin": pin}, headers=bearer(token)
    )
    return cs, paid


async def count(app: FastAPI, model) -> int:
    async with app.state.db.transaction() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_payment_reaches_the_shop_signed_once_with_what_the_api_says(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock, receiver: Receiver
):
    clock.freeze(NOW)
    shop = await make_merchant(fresh_app)
    ep = await endpoint(fresh_client, shop, receiver.url)
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=10_000)

    # A refused payment (wrong PIN) publishes nothing: the events are in its transaction.
    _, refused = await pay(fresh_client, shop, token, pin="000000" if PIN != "000000" else "1")
    assert refused.status_code == 401
    assert await count(fresh_app, WebhookEvent) == 0

    cs, paid = await pay(fresh_client, shop, token)
    assert paid.status_code == 200, paid.text
    payment_id = paid.json()["payment"]["id"]
    assert receiver.received == []  # nothing is sent inside the payment's request
    assert await dispatch(fresh_app) == 2
    assert await dispatch(fresh_app) == 0  # delivered: nothing left to send

    by_type = {r.json["type"]: r for r in receiver.received}
    assert set(by_type) == {"payment.succeeded", "checkout.session.completed"}
    for r in receiver.received:
        assert r.path == "/hooks" and r.headers["content-type"] == "application/json"
        assert r.headers["webhook-id"].startswith("msg_")
        assert int(r.headers["webhook-timestamp"]) == int(NOW.timestamp())
        assert signed_by(ep["secret"], r)
        assert not signed_by("whsec_" + "A" * 43 + "=", r)
    api_payment = (
        await fresh_client.get(f"/api/v1/merchant/payments/{payment_id}", headers=shop.headers)
    ).json()
    sent = by_type["payment.succeeded"].json
    assert sent["timestamp"] == "2026-12-07T02:30:00Z"
    assert {k: v for k, v in api_payment.items() if k != "refunds"} == sent["data"]
    assert by_type["checkout.session.completed"].json["data"]["id"] == cs["id"]
    assert by_type["checkout.session.completed"].json["data"]["status"] == "paid"
    # The payment page's link leaves the site: absolute, on this deployment's address.
    site = fresh_app.state.settings.http.site_url()
    assert site.startswith("http")
    assert by_type["checkout.session.completed"].json["data"]["url"] == (
        f"{site}/pay/checkout/{cs['id']}"
    )

    log = (
        await fresh_client.get("/api/v1/merchant/webhook-deliveries", headers=shop.headers)
    ).json()
    assert [d["status"] for d in log] == ["succeeded", "succeeded"]
    assert {d["webhook_id"] for d in log} == set(receiver.ids())
    one = (
        await fresh_client.get(
            f"/api/v1/merchant/webhook-deliveries/{log[0]['id']}", headers=shop.headers
        )
    ).json()
    assert one["attempts"] == 1 and one["attempt_log"][0]["status_code"] == 204
    assert one["payload"]["type"] == log[0]["event_type"] and one["url"] == receiver.url

    # Another merchant sees none of it.
    other = await make_merchant(fresh_app, name_zh="别家", name_en="Elsewhere")
    for path in (
        f"/api/v1/merchant/webhook-deliveries/{log[0]['id']}",
        f"/api/v1/merchant/webhook-endpoints/{ep['id']}",
    ):
        r = await fresh_client.get(path, headers=other.headers)
        assert r.status_code == 404, path
    r = await fresh_client.post(
        f"/api/v1/merchant/webhook-deliveries/{log[0]['id']}/resend", headers=other.headers
    )
    assert r.status_code == 404
    assert (
        await fresh_client.get("/api/v1/merchant/webhook-deliveries", headers=other.headers)
    ).json() == []


async def test_failures_retry_on_schedule_then_switch_the_endpoint_off_and_tell_the_staff(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock, receiver: Receiver
):
    clock.freeze(NOW)
    settings = fresh_app.state.settings
    schedule = settings.webhooks.retry_schedule_s
    shop = await make_merchant(fresh_app)
    _, token, owner_id = await ready_user(fresh_client, fresh_app, minor=10_000)
    async with fresh_app.state.db.transaction() as s:
        merchant = await onboarding.get(s, shop.id)
        staff = await s.get(User, owner_id)
        await onboarding.add_staff(s, merchant, staff)
    ep = await endpoint(fresh_client, shop, receiver.url, types=["payment.succeeded"])
    receiver.status = 500
    await pay(fresh_client, shop, token)

    assert await dispatch(fresh_app) == 1
    (d,) = (
        await fresh_client.get("/api/v1/merchant/webhook-deliveries", headers=shop.headers)
    ).json()
    assert d["status"] == "pending" and d["attempts"] == 1 and d["last_status_code"] == 500
    wait = (datetime.fromisoformat(d["next_attempt_at"]) - NOW).total_seconds()
    assert schedule[0] <= wait <= schedule[0] * 1.1  # the first wait, with at most 10 % jitter
    assert await dispatch(fresh_app) == 0  # not due yet

    for n, step in enumerate(schedule, start=2):
        clock.advance(seconds=step * 1.1 + 1)
        assert await dispatch(fresh_app) == 1, n
    assert len(receiver.received) == len(schedule) + 1
    assert len(set(receiver.ids())) == 1  # the same webhook-id on every attempt
    (d,) = (
        await fresh_client.get("/api/v1/merchant/webhook-deliveries", headers=shop.headers)
    ).json()
    assert d["status"] == "failed" and d["attempts"] == len(schedule) + 1
    got = (
        await fresh_client.get(
            f"/api/v1/merchant/webhook-endpoints/{ep['id']}", headers=shop.headers
        )
    ).json()
    assert got["status"] == "disabled" and got["disabled_reason"].startswith("Disabled auto")

    # The staff are told (in-app), once.
    await deliver(fresh_app)
    await deliver(fresh_app)
    async with fresh_app.state.db.transaction() as s:
        notes = await inbox.inbox(s, owner_id, "en")
    told = [n for n in notes if n.link == "/merchant/webhooks"]
    assert len(told) == 1 and receiver.url in told[0].text

    # New payments are not queued for a disabled endpoint; resending is refused until it is on.
    await pay(fresh_client, shop, token)
    assert await count(fresh_app, WebhookDelivery) == 1
    r = await fresh_client.post(
        f"/api/v1/merchant/webhook-deliveries/{d['id']}/resend", headers=shop.headers
    )
    assert r.status_code == 409 and r.json()["code"] == "webhooks.endpoint_disabled"
    r = await fresh_client.patch(
        f"/api/v1/merchant/webhook-endpoints/{ep['id']}",
        json={"enabled": True},
        headers=shop.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "enabled"
    receiver.status = 200
    r = await fresh_client.post(
        f"/api/v1/merchant/webhook-deliveries/{d['id']}/resend", headers=shop.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert await dispatch(fresh_app) == 1
    (d,) = (
        await fresh_client.get("/api/v1/merchant/webhook-deliveries", headers=shop.headers)
    ).json()
    assert d["status"] == "succeeded" and d["attempts"] == len(schedule) + 2


async def test_a_rotated_secret_signs_beside_the_old_one_during_the_overlap(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock, receiver: Receiver
):
    clock.freeze(NOW)
    shop = await make_merchant(fresh_app)
    ep = await endpoint(fresh_client, shop, receiver.url, types=["payment.succeeded"])
    _, token, _ = await ready_user(fresh_client, fresh_app, minor=10_000)
    r = await fresh_client.post(
        f"/api/v1/merchant/webhook-endpoints/{ep['id']}/rotate-secret", headers=shop.headers
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    remember(new)
    assert new != ep["secret"] and new.startswith("whsec_")
    await pay(fresh_client, shop, token)
    await dispatch(fresh_app)
    first = receiver.received[-1]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert signed_by(new, first) and signed_by(ep["secret"], first)

    clock.advance(hours=25)  # the overlap (24 h) is over: the new secret alone
    await pay(fresh_client, shop, token)
    await dispatch(fresh_app)
    later = receiver.received[-1]
    assert signed_by(new, later) and not signed_by(ep["secret"], later)


async def test_three_dispatchers_at_once_deliver_every_event_exactly_once(
    fresh_app: FastAPI, clock: TestClock, receiver: Receiver
):
    clock.freeze(NOW)
    settings = fresh_app.state.settings
    settings.webhooks.batch_size = 7
    receiver.delay_s = 0.02  # the rounds overlap
    owner = uuid.uuid4()
    async with fresh_app.state.db.transaction() as s:
        await webhooks.create_endpoint(
            s, settings, owner_id=owner, url=receiver.url, event_types=["payment.succeeded"]
        )
    async with fresh_app.state.db.transaction() as s:
        for n in range(60):
            await webhooks.publish(
                s, owner_id=owner, event_type="payment.succeeded", data={"n": n}, occurred_at=NOW
            )

    async def dispatcher() -> int:
        total = 0
        while (got := await dispatch(fresh_app)) > 0:
            total += got
        return total

    claimed = await asyncio.gather(dispatcher(), dispatcher(), dispatcher())
    assert sum(claimed) == 60 and all(c > 0 for c in claimed)
    assert sorted(r.json["data"]["n"] for r in receiver.received) == list(range(60))
    assert len(set(receiver.ids())) == 60
    async with fresh_app.state.db.transaction() as s:
        rows = await webhooks.list_deliveries(s, owner, limit=200)
    assert len(rows) == 60 and {r.status for r in rows} == {"succeeded"}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest/meta-data",  # the cloud's metadata service
        "https://[::1]/hooks",
        "https://[::ffff:192.168.0.1]/hooks",  # IPv4 inside IPv6
        "https://100.64.0.1/hooks",  # carrier-grade NAT
        "https://0.0.0.0/hooks",
    ],
)
async def test_private_addresses_are_refused_at_registration(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, url: str
):
    fresh_app.state.settings.webhooks.allow_private_targets = False
    shop = await make_merchant(fresh_app)
    r = await fresh_client.post(
        "/api/v1/merchant/webhook-endpoints",
        json={"url": url, "event_types": ["payment.succeeded"]},
        headers=shop.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "webhooks.url_not_public"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://shop.example/hooks", "webhooks.url_invalid"),
        ("https://user:pw@93.184.216.34/hooks", "webhooks.url_invalid"),
        ("https://93.184.216.34/hooks#x", "webhooks.url_invalid"),
        ("http://93.184.216.34/hooks", "webhooks.url_invalid"),  # public, but not https
        ("https://93.184.216.34/" + "a" * 2001, "request.validation_failed"),
        ("https://93.184.216.34/hooks", None),
    ],
)
async def test_only_full_https_addresses_are_accepted(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, url: str, code: str | None
):
    fresh_app.state.settings.webhooks.allow_private_targets = False
    shop = await make_merchant(fresh_app)
    r = await fresh_client.post(
        "/api/v1/merchant/webhook-endpoints",
        json={"url": url, "event_types": ["payment.succeeded"]},
        headers=shop.headers,
    )
    if code is None:
        assert r.status_code == 201, r.text
    else:
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    r = await fresh_client.post(
        "/api/v1/merchant/webhook-endpoints",
        json={"url": "https://93.184.216.34/h", "event_types": ["payment.sent"]},
        headers=shop.headers,
    )
    assert r.status_code == 422 and r.json()["code"] == "webhooks.event_type_unknown"


async def test_the_address_is_checked_again_when_connecting(
    fresh_app: FastAPI, clock: TestClock, receiver: Receiver
):
    """An address that was fine at registration but leads inside now (DNS rebinding, or the
    setting changed) is refused at connection time: nothing reaches the receiver."""
    clock.freeze(NOW)
    settings = fresh_app.state.settings
    owner = uuid.uuid4()
    async with fresh_app.state.db.transaction() as s:
        await webhooks.create_endpoint(
            s, settings, owner_id=owner, url=receiver.url, event_types=["payment.succeeded"]
        )
        await webhooks.publish(
            s, owner_id=owner, event_type="payment.succeeded", data={}, occurred_at=NOW
        )
    settings.webhooks.allow_private_targets = False
    assert await dispatch(fresh_app) == 1
    assert receiver.received == []
    async with fresh_app.state.db.transaction() as s:
        (row,) = await webhooks.list_deliveries(s, owner)
    assert row.status == "pending" and "not public" in (row.last_error or "")


async def test_a_name_server_that_does_not_answer_is_given_up_on_at_registration(
    fresh_client: httpx.AsyncClient,
    fresh_app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
):
    """Registration resolves the name while the request holds a database connection: a name
    server that never answers (the operating system's resolver, stood in for here) costs a few
    seconds, then the address is refused as unresolved and nothing is registered."""
    fresh_app.state.settings.webhooks.allow_private_targets = False

    async def silent(host: str, port: int) -> list:
        await asyncio.sleep(3600)
        return []

    monkeypatch.setattr(targets, "resolve", silent)
    monkeypatch.setattr(targets, "REGISTRATION_DNS_TIMEOUT_S", 0.2)
    shop = await make_merchant(fresh_app)
    r = await fresh_client.post(
        "/api/v1/merchant/webhook-endpoints",
        json={"url": "https://hooks.shop.example/in", "event_types": ["payment.succeeded"]},
        headers={**shop.headers, "Accept-Language": "en"},
    )
    assert r.status_code == 422 and r.json()["code"] == "webhooks.url_invalid", r.text
    assert "could not find this host name" in r.text
    listed = await fresh_client.get("/api/v1/merchant/webhook-endpoints", headers=shop.headers)
    assert listed.json() == []


async def test_at_most_sixteen_enabled_endpoints_even_when_added_at_once(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    fresh_app.state.settings.webhooks.allow_private_targets = False
    shop = await make_merchant(fresh_app)

    async def add(n: int) -> httpx.Response:
        return await fresh_client.post(
            "/api/v1/merchant/webhook-endpoints",
            json={"url": f"https://93.184.216.34/h{n}", "event_types": ["payment.succeeded"]},
            headers={**shop.headers, "Accept-Language": "en"},
        )

    for n in range(15):
        assert (await add(n)).status_code == 201
    # Two at once for the last place: one gets it.
    both = await asyncio.gather(add(15), add(16))
    assert sorted(r.status_code for r in both) == [201, 409], [r.text for r in both]
    refused = next(r for r in both if r.status_code == 409)
    assert refused.json()["code"] == "webhooks.too_many_endpoints"
    assert "at most 16 enabled" in refused.json()["title"]
    # A disabled one makes room; switching it on again while 16 are enabled is refused.
    listed = (
        await fresh_client.get("/api/v1/merchant/webhook-endpoints", headers=shop.headers)
    ).json()
    assert len(listed) == 16

    async def switch(endpoint: dict, enabled: bool) -> httpx.Response:
        return await fresh_client.patch(
            f"/api/v1/merchant/webhook-endpoints/{endpoint['id']}",
            json={"enabled": enabled},
            headers=shop.headers,
        )

    assert (await switch(listed[0], False)).status_code == 200
    assert (await add(17)).status_code == 201
    r = await switch(listed[0], True)
    assert r.status_code == 409 and r.json()["code"] == "webhooks.too_many_endpoints"


def test_what_counts_as_public():
    def public(text: str) -> bool:
        ip = literal_address(text)
        assert ip is not None
        return is_public(ip)

    assert public("93.184.216.34") and public("2606:2800:220:1:248:1893:25c8:1946")
    for text in (
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1",
        "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:0a00:0001::1", "198.18.0.1",
    ):  # fmt: skip
        assert not public(text), text


async def test_publishing_refuses_unknown_types_and_writes_nothing_without_endpoints(
    fresh_app: FastAPI,
):
    owner = uuid.uuid4()
    async with fresh_app.state.db.transaction() as s:
        with pytest.raises(DomainError):
            await webhooks.publish(
                s, owner_id=owner, event_type="money.stolen", data={}, occurred_at=NOW
            )
        got = await webhooks.publish(
            s, owner_id=owner, event_type="payment.succeeded", data={}, occurred_at=NOW
        )
    assert got is None and await count(fresh_app, WebhookEvent) == 0


@pytest.mark.parametrize(
    ("status", "delay", "error"),
    [(302, 0.0, "redirect not followed"), (500, 0.0, "HTTP 500"), (204, 2.0, "timed out")],
)
async def test_a_redirect_an_error_or_a_slow_answer_is_a_failed_attempt_retried_later(
    fresh_app: FastAPI,
    clock: TestClock,
    receiver: Receiver,
    status: int,
    delay: float,
    error: str,
):
    clock.freeze(NOW)
    settings = fresh_app.state.settings
    settings.webhooks.timeout_s = 0.5
    receiver.status, receiver.delay_s = status, delay
    owner = uuid.uuid4()
    async with fresh_app.state.db.transaction() as s:
        await webhooks.create_endpoint(
            s, settings, owner_id=owner, url=receiver.url, event_types=["refund.failed"]
        )
        await webhooks.publish(
            s, owner_id=owner, event_type="refund.failed", data={"id": "r1"}, occurred_at=NOW
        )
    assert await dispatch(fresh_app) == 1
    async with fresh_app.state.db.transaction() as s:
        (row,) = await webhooks.list_deliveries(s, owner)
        detail = await webhooks.delivery_detail(s, owner, row.id)
    assert row.status == "pending" and row.attempts == 1 and error in (row.last_error or "")
    assert row.next_attempt_at is not None and row.next_attempt_at > NOW
    (attempt,) = detail.attempts
    assert attempt.error is not None and error in attempt.error and attempt.duration_ms >= 0
    assert len(receiver.received) == 1  # it was sent once; nothing followed the redirect
