"""Withdrawals: fee and limits shown first, PIN + SMS code, amount and fee held, automatic
approval under the threshold and an operator's review above it, payout through the development
backend (settled, failed, returned), the timeline, the cooling-off after security changes,
races, restrictions after very frequent withdrawals."""

from __future__ import annotations

import asyncio
from datetime import date

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from qianbao.identity import accounts as id_accounts
from qianbao.identity import security
from tests.support.identity import bearer, deliver, e164, last_code, sms_messages
from tests.support.wallet import (
    CARD_OK,
    PAYOUT_FAILS,
    PAYOUT_RETURNED,
    PIN,
    balance,
    bind_card,
    key,
    ready_user,
    settle_payouts,
    system_balance,
)

OPS = {"Authorization": "Bearer ops-token-0123456789"}


async def _code(client, app, phone, token, card, amount) -> str:
    app.state.settings.identity.otp_resend_cooldown_s = 0
    r = await client.post(
        "/api/v1/wallet/withdrawals/code",
        json={"card_id": card, "amount": amount, "currency": "CNY"},
        headers=bearer(token),
    )
    assert r.status_code == 202, r.text
    return await last_code(app, e164(phone))


async def _withdraw(client, app, phone, token, card, amount, *, code=None, pin=PIN, headers=None):
    code = code or await _code(client, app, phone, token, card, amount)
    return await client.post(
        "/api/v1/wallet/withdrawals",
        json={"card_id": card, "amount": amount, "currency": "CNY", "pin": pin, "code": code},
        headers={**bearer(token), **(headers or key())},
    )


async def test_quote_then_withdraw_hold_payout_and_settle(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app, minor=100_000)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    fees_before = await system_balance(fresh_app, "fee_revenue")

    q = await fresh_client.post(
        "/api/v1/wallet/withdrawals/quote",
        json={"card_id": card, "amount": "100.00", "currency": "CNY"},
        headers=bearer(token),
    )
    assert q.status_code == 200, q.text
    quote = q.json()
    # Card fee: 1.00 + 0.1 % (0.10), at least 1.00, at most 25.00.
    assert quote["fee"]["amount"] == "1.10" and quote["total"]["amount"] == "101.10"
    assert quote["needs_review"] is False and quote["card"] == "•••• 4242"
    assert date.fromisoformat(quote["expected_arrival"]) > fresh_app.state.clock.today()
    assert quote["limits"]["single_max"]["amount"] == "5000.00"

    r = await _withdraw(fresh_client, fresh_app, phone, token, card, "100.00")
    assert r.status_code == 201, r.text
    w = r.json()
    assert w["status"] == "approved" and w["fee"]["amount"] == "1.10"
    assert [s["status"] for s in w["timeline"]] == ["requested", "approved"]
    assert await balance(fresh_client, token) == ("898.90", "101.10")

    assert await settle_payouts(fresh_app) == 1
    w = (
        await fresh_client.get(f"/api/v1/wallet/withdrawals/{w['id']}", headers=bearer(token))
    ).json()
    assert w["status"] == "settled"
    assert [s["status"] for s in w["timeline"]] == ["requested", "approved", "submitted", "settled"]
    assert await balance(fresh_client, token) == ("898.90", "0.00")
    assert await system_balance(fresh_app, "fee_revenue") == fees_before + 110
    tx = (
        await fresh_client.get(
            f"/api/v1/wallet/transactions/{w['transaction_id']}", headers=bearer(token)
        )
    ).json()
    assert tx["status"] == "completed" and tx["fee"]["amount"] == "1.10"
    assert tx["balance_after"]["amount"] == "898.90"
    assert any("100.00" in m and "4242" in m for m in sms_messages(fresh_app, e164(phone)))
    # The payout instruction went to the development outbox, the number masked.
    outbox = fresh_app.state.settings.payments.payout_outbox_path.read_text(encoding="utf-8")
    assert "•••• 4242" in outbox and CARD_OK not in outbox


async def test_failed_and_returned_payouts_give_everything_back(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app, minor=100_000)
    failing = await bind_card(fresh_client, fresh_app, phone, token, PAYOUT_FAILS)
    returning = await bind_card(fresh_client, fresh_app, phone, token, PAYOUT_RETURNED)
    fees_before = await system_balance(fresh_app, "fee_revenue")

    a = (await _withdraw(fresh_client, fresh_app, phone, token, failing, "200.00")).json()
    b = (await _withdraw(fresh_client, fresh_app, phone, token, returning, "300.00")).json()
    assert await balance(fresh_client, token) == ("497.50", "502.50")
    await settle_payouts(fresh_app)
    await settle_payouts(fresh_app)  # the return comes after the settlement
    a = (
        await fresh_client.get(
            f"/api/v1/wallet/withdrawals/{a['id']}",
            headers={**bearer(token), "Accept-Language": "en"},
        )
    ).json()
    b = (
        await fresh_client.get(
            f"/api/v1/wallet/withdrawals/{b['id']}",
            headers={**bearer(token), "Accept-Language": "en"},
        )
    ).json()
    assert a["status"] == "failed" and "account is closed" in a["timeline"][-1]["note"]
    assert b["status"] == "returned"
    assert [s["status"] for s in b["timeline"]][-2:] == ["settled", "returned"]
    assert await balance(fresh_client, token) == ("1000.00", "0.00")
    assert await system_balance(fresh_app, "fee_revenue") == fees_before
    tx = (
        await fresh_client.get(
            f"/api/v1/wallet/transactions/{b['transaction_id']}", headers=bearer(token)
        )
    ).json()
    assert tx["status"] == "reversed"


async def test_review_above_the_threshold_approve_and_reject_with_reason(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    fresh_app.state.settings.admin.api_token = SecretStr("ops-token-0123456789")
    phone, token, _ = await ready_user(fresh_client, fresh_app, minor=2_000_000, tier=1)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    big = (await _withdraw(fresh_client, fresh_app, phone, token, card, "6000.00")).json()
    other = (await _withdraw(fresh_client, fresh_app, phone, token, card, "5500.00")).json()
    assert big["status"] == "in_review" and other["status"] == "in_review"
    assert await settle_payouts(fresh_app) == 0  # nothing is paid out before a decision
    queue = (await fresh_client.get("/api/v1/ops/withdrawals", headers=OPS)).json()
    assert {w["id"] for w in queue} == {big["id"], other["id"]}
    assert (await fresh_client.get("/api/v1/ops/withdrawals")).status_code == 401

    # Approved ten days later: the arrival date is counted again from the approval.
    fresh_app.state.clock.advance(days=10)
    r = await fresh_client.post(f"/api/v1/ops/withdrawals/{big['id']}/approve", headers=OPS)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    arrival = date.fromisoformat(r.json()["expected_arrival"])
    assert arrival > date.fromisoformat(big["expected_arrival"])
    assert arrival >= fresh_app.state.clock.today()
    r = await fresh_client.post(
        f"/api/v1/ops/withdrawals/{other['id']}/reject", json={"reason": "x"}, headers=OPS
    )
    assert r.status_code == 422 and r.json()["code"] == "wallet.reason_required"
    r = await fresh_client.post(
        f"/api/v1/ops/withdrawals/{other['id']}/reject",
        json={"reason": "Please call us to confirm this withdrawal."},
        headers=OPS,
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["timeline"][-1]["note"] == "Please call us to confirm this withdrawal."
    r = await fresh_client.post(f"/api/v1/ops/withdrawals/{other['id']}/approve", headers=OPS)
    assert r.status_code == 409 and r.json()["code"] == "wallet.withdrawal_not_reviewable"

    await settle_payouts(fresh_app)
    # 20,000.00 - 6,000.00 - fee 7.00 (1.00 + 0.1 % = 7.00); the rejected one costs nothing.
    assert await balance(fresh_client, token) == ("13993.00", "0.00")
    inbox = (await fresh_client.get("/api/v1/me/notifications", headers=bearer(token))).json()
    assert any("Please call us" in n["text"] for n in inbox["notifications"])


async def test_two_withdrawals_racing_for_the_same_balance(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app, minor=10_000)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    code = await _code(fresh_client, fresh_app, phone, token, card, "60.00")
    results = await asyncio.gather(
        *(
            _withdraw(fresh_client, fresh_app, phone, token, card, "60.00", code=code)
            for _ in range(2)
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409], [r.text for r in results]
    assert [r.json()["code"] for r in results if r.status_code == 409] == [
        "ledger.insufficient_funds"
    ]
    assert await balance(fresh_client, token) == ("38.94", "61.06")


async def test_refusals_change_nothing(fresh_client: httpx.AsyncClient, fresh_app: FastAPI):
    fresh_app.state.settings.identity.otp_max_sends_per_number_hour = 50
    fresh_app.state.settings.identity.otp_max_sends_per_purpose_hour = 50
    phone, token, _ = await ready_user(fresh_client, fresh_app, minor=50_000)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    ten = await _code(fresh_client, fresh_app, phone, token, card, "10.00")
    cases = [
        ("1.001", PIN, "123456", "money.invalid_amount"),
        ("0", PIN, "123456", "money.invalid_amount"),
        ("-1", PIN, "123456", "money.invalid_amount"),
        ("499.00", PIN, None, "ledger.insufficient_funds"),  # + fee 1.50 > 500.00
        ("5000.01", PIN, None, "risk.limit_exceeded"),
        ("10.00", "000000", ten, "identity.wrong_pin"),
        ("10.00", PIN, "000000", "identity.code_invalid"),
        ("20.00", PIN, ten, "identity.code_invalid"),  # the code confirms 10.00, not 20.00
    ]
    for amount, pin, c, expected in cases:
        if c is None:  # a code for exactly this amount (refused before the code is used)
            c = "123456"
        r = await _withdraw(fresh_client, fresh_app, phone, token, card, amount, code=c, pin=pin)
        assert r.status_code >= 400, r.text
        assert r.json()["code"].split(".")[0] == expected.split(".")[0], (amount, r.json())
    assert await balance(fresh_client, token) == ("500.00", "0.00")
    listed = await fresh_client.get("/api/v1/wallet/transactions", headers=bearer(token))
    assert [t["kind"] for t in listed.json()["transactions"]] == []

    # Another user's card, and another user's withdrawal.
    phone2, token2, _ = await ready_user(fresh_client, fresh_app, minor=50_000)
    r = await _withdraw(fresh_client, fresh_app, phone2, token2, card, "10.00", code="123456")
    assert r.status_code == 404 and r.json()["code"] == "wallet.card_not_found"
    mine = (await _withdraw(fresh_client, fresh_app, phone, token, card, "10.00")).json()
    r = await fresh_client.get(f"/api/v1/wallet/withdrawals/{mine['id']}", headers=bearer(token2))
    assert r.status_code == 404
    # A replay returns the first withdrawal; the same key with another amount is refused.
    same = key()
    first = await _withdraw(fresh_client, fresh_app, phone, token, card, "5.00", headers=same)
    again = await _withdraw(fresh_client, fresh_app, phone, token, card, "5.00", headers=same)
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    other = await _withdraw(fresh_client, fresh_app, phone, token, card, "6.00", headers=same)
    assert other.status_code == 409 and other.json()["code"] == "idempotency.key_reused"


async def test_no_withdrawal_to_a_card_bound_during_the_cooling_off(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token, _ = await ready_user(fresh_client, fresh_app, minor=50_000)
    old_card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    async with fresh_app.state.db.transaction() as s:
        user = await id_accounts.by_phone(s, e164(phone))
        await security.record(s, fresh_app.state.identity, user, "password_reset")
    new_card = await bind_card(fresh_client, fresh_app, phone, token, PAYOUT_RETURNED)
    r = await _withdraw(fresh_client, fresh_app, phone, token, new_card, "10.00")
    assert r.status_code == 403 and r.json()["code"] == "wallet.card_cooling_off"
    assert await balance(fresh_client, token) == ("500.00", "0.00")
    r = await _withdraw(fresh_client, fresh_app, phone, token, old_card, "10.00")
    assert r.status_code == 201, r.text


async def test_very_frequent_withdrawals_restrict_until_reviewed(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    fresh_app.state.settings.admin.api_token = SecretStr("ops-token-0123456789")
    fresh_app.state.settings.risk.velocity_max = 3
    fresh_app.state.settings.identity.otp_max_sends_per_number_hour = 50
    fresh_app.state.settings.identity.otp_max_sends_per_purpose_hour = 50
    phone, token, user_id = await ready_user(fresh_client, fresh_app, minor=50_000)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    for _ in range(3):
        r = await _withdraw(fresh_client, fresh_app, phone, token, card, "1.00")
        assert r.status_code == 201, r.text
    r = await _withdraw(fresh_client, fresh_app, phone, token, card, "1.00")
    assert r.status_code == 403 and r.json()["code"] == "risk.account_restricted"
    listed = (await fresh_client.get("/api/v1/ops/restrictions", headers=OPS)).json()
    assert [x["user_id"] for x in listed] == [str(user_id)]
    r = await fresh_client.post(
        f"/api/v1/ops/restrictions/{user_id}/lift",
        json={"reason": "called the customer"},
        headers=OPS,
    )
    assert r.status_code == 200
    fresh_app.state.settings.risk.velocity_max = 30
    r = await _withdraw(fresh_client, fresh_app, phone, token, card, "1.00")
    assert r.status_code == 201, r.text
    await deliver(fresh_app)
