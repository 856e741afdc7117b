"""Top-ups through the sandbox acquirer: hosted confirmation, signed asynchronous callback, test
cards that succeed / are declined / lack funds; the wallet is credited only on a verified
callback, exactly once; refusals change nothing."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI

from qianbao.rails import sandbox
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
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
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
    assert topup["confirmation_url"].startswith(fresh_app.state.settings.http.public_url)
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
    headers = {sandbox.SIGNATURE_HEADER: sandbox.sign(SECRET, body, int(time.time()))}
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
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    topup = (await _start(fresh_client, token, card, "50.00")).json()
    async with fresh_app.state.db.transaction() as s:
        payment = await sandbox.get_payment(s, _payment_id(topup))
        payment.status = "succeeded"  # what a forger would claim
        body = sandbox.callback_body(payment)
        await s.rollback()
    now = int(time.time())
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
        json={"card_id": card, "amount": "1.00", "pin": PIN},
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
