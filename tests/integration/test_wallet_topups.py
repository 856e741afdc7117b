"""Top-ups through the sandbox acquirer: hosted confirmation, signed asynchronous callback, test
cards that succeed / are declined / lack funds; the wallet is credited only on a verified
callback, exactly once; refusals change nothing. Our own addresses are paths resolved when used
(the callback on the service's current base URL, pages on the browser's origin); a pending
top-up is shown as waiting, not as money in."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI

from qianbao.kernel.clock import TestClock
from qianbao.rails import sandbox
from qianbao.settings import Settings
from qianbao.tasks import register_tasks
from qianbao.wallet.models import Topup
from qianbao.worker import Worker, registry
from tests.support.identity import bearer, deliver, e164, sms_messages
from tests.support.wallet import (
    CARD_DECLINED,
    CARD_NO_FUNDS,
    CARD_OK,
    PIN,
    balance,
    bind_card,
    key,
    ready_user,
    system_balance,
)

SECRET = b"test-sandbox-signing-key"


async def _start(client, token, card_id, amount="100.00", pin=PIN, headers=None):
    return await client.post(
        "/api/v1/wallet/topups",
        json={"card_id": card_id, "amount": amount, "currency": "CNY", "pin": pin},
        headers={**bearer(token), **(headers or key())},
    )


def _payment_id(topup: dict) -> str:
    return topup["confirmation_url"].rsplit("/", 1)[1]


async def test_top_up_credits_once_on_the_verified_callback(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    clearing_before = await system_balance(fresh_app, "bank_clearing", "card")

    r = await _start(fresh_client, token, card)
    assert r.status_code == 201, r.text
    topup = r.json()
    assert topup["status"] == "pending" and topup["amount"] == {
        "amount": "100.00",
        "currency": "CNY",
    }
    # The sandbox's page is on this site: the API builds its URL on the request's own origin
    # (no public URL is configured), and nothing absolute is stored.
    assert topup["confirmation_url"] == f"http://testserver/sandbox/pay/{_payment_id(topup)}"
    async with fresh_app.state.db.transaction() as s:
        row = await s.get(Topup, uuid.UUID(topup["id"]))
        payment = await sandbox.get_payment(s, _payment_id(topup))
        assert row is not None and row.confirmation_url == f"/sandbox/pay/{payment.id}"
        assert payment.return_url == f"/wallet/topup/{topup['id']}"
        assert payment.notify_url == "/api/v1/payments/sandbox/notify"
    # Pending: shown in the history, nothing credited yet.
    assert await balance(fresh_client, token) == ("0.00", "0.00")
    tx = await fresh_client.get(
        f"/api/v1/wallet/transactions/{topup['transaction_id']}", headers=bearer(token)
    )
    assert tx.json()["status"] == "pending" and tx.json()["kind"] == "topup"

    # The hosted page shows the payment; confirming it does not credit either: the callback does.
    page = await fresh_client.get(f"/sandbox/pay/{_payment_id(topup)}")
    assert page.status_code == 200 and "•••• 4242" in page.text
    r = await fresh_client.post(f"/api/v1/sandbox/payments/{_payment_id(topup)}/confirm")
    assert r.status_code == 200 and r.json()["status"] == "succeeded"
    assert await balance(fresh_client, token) == ("0.00", "0.00")

    await deliver(fresh_app)  # the sandbox's signed callback reaches /api/v1/payments/...
    assert await balance(fresh_client, token) == ("100.00", "0.00")
    done = (
        await fresh_client.get(f"/api/v1/wallet/topups/{topup['id']}", headers=bearer(token))
    ).json()
    assert done["status"] == "succeeded" and done["confirmation_url"] is None
    tx = await fresh_client.get(
        f"/api/v1/wallet/transactions/{topup['transaction_id']}", headers=bearer(token)
    )
    assert tx.json()["status"] == "completed"
    assert tx.json()["balance_after"] == {"amount": "100.00", "currency": "CNY"}
    assert await system_balance(fresh_app, "bank_clearing", "card") == clearing_before - 10_000
    assert any("100.00" in m and "4242" in m for m in sms_messages(fresh_app, e164(phone)))

    # The same callback again (a provider retry) or a second answer changes nothing.
    async with fresh_app.state.db.transaction() as s:
        payment = await sandbox.get_payment(s, _payment_id(topup))
        body = sandbox.callback_body(payment)
    headers = {sandbox.SIGNATURE_HEADER: sandbox.sign(SECRET, body, clock.timestamp())}
    for _ in range(2):
        r = await fresh_client.post(
            "/api/v1/payments/sandbox/notify",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 204, r.text
    assert await balance(fresh_client, token) == ("100.00", "0.00")
    r = await fresh_client.post(f"/api/v1/sandbox/payments/{_payment_id(topup)}/cancel")
    assert r.status_code == 409
    async with fresh_app.state.db.transaction() as s:
        entries = await s.execute(
            __import__("sqlalchemy").text(
                "SELECT count(*) FROM ledger_entries WHERE entry_type = 'topup'"
            )
        )
        assert entries.scalar_one() == 1


async def test_forged_or_stale_callbacks_are_refused(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    topup = (await _start(fresh_client, token, card, "50.00")).json()
    async with fresh_app.state.db.transaction() as s:
        payment = await sandbox.get_payment(s, _payment_id(topup))
        payment.status = "succeeded"  # what a forger would claim
        body = sandbox.callback_body(payment)
        await s.rollback()
    now = clock.timestamp()
    bad = [
        {sandbox.SIGNATURE_HEADER: sandbox.sign(b"not-the-key", body, now)},
        {sandbox.SIGNATURE_HEADER: sandbox.sign(SECRET, body, now - 3600)},  # stale
        {sandbox.SIGNATURE_HEADER: "t=abc,v1=00"},
        {},
    ]
    for headers in bad:
        r = await fresh_client.post(
            "/api/v1/payments/sandbox/notify",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 422 and r.json()["code"] == "payments.callback_rejected"
    # A correctly signed callback whose amount does not match the top-up is refused too.
    tampered = body.replace(b'"amount":5000', b'"amount":500000')
    r = await fresh_client.post(
        "/api/v1/payments/sandbox/notify",
        content=tampered,
        headers={
            sandbox.SIGNATURE_HEADER: sandbox.sign(SECRET, tampered, now),
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 422
    assert await balance(fresh_client, token) == ("0.00", "0.00")


async def test_declined_and_insufficient_cards_fail_and_credit_nothing(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    for number, failure in ((CARD_DECLINED, "declined"), (CARD_NO_FUNDS, "insufficient_funds")):
        card = await bind_card(fresh_client, fresh_app, phone, token, number)
        topup = (await _start(fresh_client, token, card, "20.00")).json()
        await fresh_client.post(f"/api/v1/sandbox/payments/{_payment_id(topup)}/confirm")
        await deliver(fresh_app)
        done = (
            await fresh_client.get(f"/api/v1/wallet/topups/{topup['id']}", headers=bearer(token))
        ).json()
        assert (done["status"], done["failure"]) == ("failed", failure)
        tx = await fresh_client.get(
            f"/api/v1/wallet/transactions/{topup['transaction_id']}", headers=bearer(token)
        )
        assert tx.json()["status"] == "failed"
    assert await balance(fresh_client, token) == ("0.00", "0.00")
    inbox = (
        await fresh_client.get(
            "/api/v1/me/notifications", headers={**bearer(token), "Accept-Language": "en"}
        )
    ).json()
    texts = " ".join(n["text"] for n in inbox["notifications"])
    assert "declined" in texts and "not enough" in texts


async def test_refusals_replays_and_other_users(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    for amount, code in (
        ("1.001", "money.invalid_amount"),
        ("0", "money.invalid_amount"),
        ("-5", "money.invalid_amount"),
        ("5000.01", "risk.limit_exceeded"),  # tier 0: at most 5,000.00 at a time
    ):
        r = await _start(fresh_client, token, card, amount)
        assert r.status_code in (409, 422), r.text
        assert r.json()["code"].split(".")[0] == code.split(".")[0], r.json()
    r = await _start(fresh_client, token, card, pin="000000")
    assert r.json()["code"] == "identity.wrong_pin"
    r = await fresh_client.post(
        "/api/v1/wallet/topups",
        json={"card_id": card, "amount": "1.00", "currency": "CNY", "pin": PIN},
        headers=bearer(token),
    )
    assert r.json()["code"] == "wallet.idempotency_key_missing"
    # Nothing was created by any refusal.
    listed = await fresh_client.get("/api/v1/wallet/transactions", headers=bearer(token))
    assert listed.json()["transactions"] == []

    same = key()
    first = await _start(fresh_client, token, card, "10.00", headers=same)
    again = await _start(fresh_client, token, card, "10.00", headers=same)
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.json()["replayed"] is True
    other = await _start(fresh_client, token, card, "11.00", headers=same)
    assert other.status_code == 409 and other.json()["code"] == "idempotency.key_reused"

    # Another user can neither see the top-up nor use the card.
    _phone2, token2, _ = await ready_user(fresh_client, fresh_app)
    r = await fresh_client.get(
        f"/api/v1/wallet/topups/{first.json()['id']}", headers=bearer(token2)
    )
    assert r.status_code == 404
    r = await _start(fresh_client, token2, card, "10.00")
    assert r.status_code == 404 and r.json()["code"] == "wallet.card_not_found"


async def test_a_frozen_wallet_cannot_start_a_top_up(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    r = await fresh_client.post("/api/v1/me/freeze", headers=bearer(token))
    assert r.status_code in (200, 204), r.text
    r = await _start(fresh_client, token, card, "10.00")
    assert r.status_code == 409 and r.json()["code"] == "ledger.account_frozen"
    assert (await fresh_client.get("/api/v1/wallet/transactions", headers=bearer(token))).json()[
        "transactions"
    ] == []


# -- our own addresses: resolved when used, never a default baked in ---------------------------
@pytest.mark.parametrize(
    ("http", "base"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"port": 8301}, "http://127.0.0.1:8301"),
        ({"host": "0.0.0.0", "port": 8301}, "http://localhost:8301"),
        ({"host": "::", "port": 8301}, "http://localhost:8301"),
        ({"host": "::1", "port": 8301}, "http://[::1]:8301"),
        ({"public_url": "https://wallet.example.com/", "port": 8301}, "https://wallet.example.com"),
        ({"public_url": ""}, "http://127.0.0.1:8000"),
    ],
)
def test_the_base_url_follows_the_listener_unless_a_public_url_is_set(http, base):
    settings = Settings(http=http)
    assert settings.http.base_url == base
    # With a request at hand, its origin counts unless a public URL is configured.
    expected = base if http.get("public_url") else "http://localhost:8301"
    assert settings.http.site_url("http://localhost:8301/") == expected


class _Recording(httpx.AsyncBaseTransport):
    """The app under test through ASGI, noting which URLs were called."""

    def __init__(self, app: FastAPI) -> None:
        self.inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await self.inner.handle_async_request(request)


async def _run_jobs(app: FastAPI, transport: _Recording) -> None:
    register_tasks()
    async with httpx.AsyncClient(transport=transport) as http:
        await Worker(
            app.state.db, registry, services={"settings": app.state.settings, "http": http}
        ).run_until_idle()


async def test_the_callback_goes_to_the_current_address_also_for_rows_queued_with_an_old_one(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """A payment whose callback was queued when absolute URLs were stored (the then-default
    http://127.0.0.1:8000) is called back on the address the service has now (here port 8301,
    no public URL): only the stored path counts. The callback is still signed and credits."""
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    topup = (await _start(fresh_client, token, card, "12.00")).json()
    async with fresh_app.state.db.transaction() as s:  # the old shape of the rows
        payment = await sandbox.get_payment(s, _payment_id(topup))
        payment.notify_url = "http://127.0.0.1:8000/api/v1/payments/sandbox/notify"
        payment.return_url = f"http://127.0.0.1:8000/wallet/topup/{topup['id']}"
        row = await s.get(Topup, uuid.UUID(topup["id"]))
        assert row is not None
        row.confirmation_url = f"http://127.0.0.1:8000/sandbox/pay/{payment.id}"

    # The user answers on the page: back to the status page on the origin they are on.
    page = await fresh_client.get(f"/sandbox/pay/{payment.id}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    r = await fresh_client.post(
        f"/sandbox/pay/{payment.id}", data={"action": "confirm", "csrf_token": csrf.group(1)}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/wallet/topup/{topup['id']}"

    fresh_app.state.settings.http.port = 8301  # restarted on another port
    transport = _Recording(fresh_app)
    await _run_jobs(fresh_app, transport)
    assert transport.urls == ["http://127.0.0.1:8301/api/v1/payments/sandbox/notify"]
    assert await balance(fresh_client, token) == ("12.00", "0.00")
    done = (
        await fresh_client.get(f"/api/v1/wallet/topups/{topup['id']}", headers=bearer(token))
    ).json()
    assert done["status"] == "succeeded"


async def test_an_old_pending_top_up_links_to_the_page_on_this_origin(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    topup = (await _start(fresh_client, token, card, "5.00")).json()
    pid = _payment_id(topup)
    async with fresh_app.state.db.transaction() as s:
        row = await s.get(Topup, uuid.UUID(topup["id"]))
        assert row is not None
        row.confirmation_url = f"http://127.0.0.1:8000/sandbox/pay/{pid}"
    again = (
        await fresh_client.get(f"/api/v1/wallet/topups/{topup['id']}", headers=bearer(token))
    ).json()
    assert again["confirmation_url"] == f"http://testserver/sandbox/pay/{pid}"
    page = await fresh_client.get(f"/wallet/topup/{topup['id']}", headers=bearer(token))
    assert f'href="/sandbox/pay/{pid}"' in page.text and "127.0.0.1:8000" not in page.text


# -- a pending top-up is not money in -----------------------------------------------------------
AMOUNT = re.compile(r'<span class="tx-amount ([^"]*)">(.*?)</span>', re.S)


def _amounts(html: str) -> list[tuple[str, str]]:
    """(classes, text) of each amount in a transaction list."""
    return [(c, re.sub(r"<[^>]+>", "", t).strip()) for c, t in AMOUNT.findall(html)]


async def test_pending_and_failed_top_ups_do_not_look_like_money_in(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    pending = (await _start(fresh_client, token, card, "100.00")).json()
    zh, en = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}

    home = await fresh_client.get("/wallet", headers={**bearer(token), **zh})
    assert home.status_code == 200
    assert _amounts(home.text) == [("muted", "¥100.00")]  # grey, no "+"
    assert "等待银行确认" in home.text and "+¥100.00" not in home.text
    listed = await fresh_client.get("/wallet/history", headers={**bearer(token), **en})
    assert _amounts(listed.text) == [("muted", "CN¥100.00")]
    assert "Waiting for the bank" in listed.text and "+CN¥100.00" not in listed.text
    detail = await fresh_client.get(
        f"/wallet/tx/{pending['transaction_id']}", headers={**bearer(token), **en}
    )
    assert _amounts(detail.text) == [("muted", "CN¥100.00")]
    assert "Waiting for the bank" in detail.text

    # Declined: it never was money in (struck through, no sign). Confirmed: now it is.
    declined_card = await bind_card(fresh_client, fresh_app, phone, token, CARD_DECLINED)
    declined = (await _start(fresh_client, token, declined_card, "30.00")).json()
    for t in (pending, declined):
        r = await fresh_client.post(f"/api/v1/sandbox/payments/{_payment_id(t)}/confirm")
        assert r.status_code == 200
    await deliver(fresh_app)
    listed = await fresh_client.get("/wallet/history", headers={**bearer(token), **en})
    # The confirmed one is listed when its money arrived (after the declined one was asked
    # for); the declined one moved nothing and stays where it was asked for.
    assert _amounts(listed.text) == [("in", "+CN¥100.00"), ("muted", "CN¥30.00")]
    assert "<s>CN¥30.00</s>" in listed.text and "Failed" in listed.text
    assert "Waiting for the bank" not in listed.text


async def test_the_sandbox_helpers_do_not_exist_with_a_real_acquirer(
    client: httpx.AsyncClient, app: FastAPI
):
    """The unauthenticated sandbox helper and hosted page answer only with the sandbox
    acquirer; with a real one they are 404 (issue 13, defect 9; docs/payments.md)."""
    app.state.settings.payments.acquirer = "stripe"
    payment = "00000000-0000-0000-0000-000000000001"
    for method, path in (
        ("POST", f"/api/v1/sandbox/payments/{payment}/confirm"),
        ("GET", f"/sandbox/pay/{payment}"),
    ):
        r = await client.request(method, path, headers={"Accept": "application/json"})
        assert r.status_code == 404, (path, r.text)
