"""Real-time risk decisions on transfers (issue 15, D2): a large transfer from a new device is
held until the user answers "Was this you?"; a large one to a new payee asks for an SMS code that
names the amount and the payee; a blocking rule refuses; every decision is logged with its
reasons. Answers race, expire, and belong to their owner."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from qianbao.risk.models import DecisionRow, RuleRow
from qianbao.wallet import held_answers
from tests.support.identity import STRONG_PASSWORD, bearer, e164, last_code, sms_messages
from tests.support.wallet import PIN, balance, key, ready_user


async def _new_device_login(client: httpx.AsyncClient, phone: str) -> str:
    """Sign in again without the device token: a second, new device."""
    r = await client.post("/api/v1/auth/login", json={"phone": phone, "password": STRONG_PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["token"]


async def _send(client, token, to, amount, *, headers=None, **extra):
    body = {"to": to, "amount": amount, "currency": "CNY", "pin": PIN, **extra}
    return await client.post(
        "/api/v1/wallet/transfers", json=body, headers={**bearer(token), **(headers or key())}
    )


async def _decisions(app: FastAPI, user_id: uuid.UUID) -> list[DecisionRow]:
    async with app.state.db.transaction() as s:
        rows = await s.execute(
            select(DecisionRow).where(DecisionRow.user_id == user_id).order_by(DecisionRow.id)
        )
        return list(rows.scalars())


async def _set_rule(app: FastAPI, code: str, **values: object) -> None:
    async with app.state.db.transaction() as s:
        await s.execute(update(RuleRow).where(RuleRow.code == code).values(**values))


async def test_a_large_transfer_from_a_new_device_is_held_until_the_user_says_yes(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, _, alice_id = await ready_user(client, app, minor=500_000)
    bob_phone, bob, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    r = await _send(client, alice, bob_phone, "2500.00")
    assert r.status_code == 202, r.text
    done = r.json()
    assert done["status"] == "pending" and done["balance_after"] is None
    held_id = done["held"]
    # The money is on hold: gone from Alice's available balance, not yet with Bob.
    assert await balance(client, alice) == ("2500.00", "2500.00")
    assert await balance(client, bob) == ("0.00", "0.00")
    assert [
        t["status"]
        for t in (await client.get("/api/v1/wallet/transactions", headers=bearer(alice))).json()[
            "transactions"
        ]
    ] == ["pending"]
    assert (await client.get("/api/v1/wallet/transactions", headers=bearer(bob))).json()[
        "transactions"
    ] == []
    # Asked in the app and by SMS; the SMS names the amount and the payee.
    await last_code(app, e164(phone))
    asked = sms_messages(app, e164(phone))[-1]
    assert "2500.00 CNY" in asked and bob_phone[-4:] in asked
    inbox = (await client.get("/api/v1/me/notifications", headers=bearer(alice))).json()
    assert any(f"/wallet/held/{held_id}" == n["link"] for n in inbox["notifications"])
    decisions = await _decisions(app, alice_id)
    # The new device is both a signal of its own and a recent security change.
    assert [(d.action, d.reasons, d.outcome) for d in decisions] == [
        ("hold", ["new_device_large", "recent_security_change"], None)
    ]
    # A wrong code changes nothing.
    r = await client.post(
        f"/api/v1/wallet/held/{held_id}/yes", json={"code": "000000"}, headers=bearer(alice)
    )
    assert r.status_code in (400, 422) and r.json()["code"].startswith("identity.")
    assert await balance(client, bob) == ("0.00", "0.00")
    code = await last_code(app, e164(phone))
    r = await client.post(
        f"/api/v1/wallet/held/{held_id}/yes", json={"code": code}, headers=bearer(alice)
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    assert await balance(client, alice) == ("2500.00", "0.00")
    assert await balance(client, bob) == ("2500.00", "0.00")
    mine = (await client.get("/api/v1/wallet/transactions", headers=bearer(alice))).json()
    assert [(t["status"], t["balance_after"]["amount"]) for t in mine["transactions"]] == [
        ("completed", "2500.00")
    ]
    theirs = (await client.get("/api/v1/wallet/transactions", headers=bearer(bob))).json()
    assert [(t["direction"], t["amount"]["amount"]) for t in theirs["transactions"]] == [
        ("in", "2500.00")
    ]
    assert [d.outcome for d in await _decisions(app, alice_id)] == ["confirmed"]
    # Answered once: a second answer is refused and changes nothing.
    r = await client.post(f"/api/v1/wallet/held/{held_id}/no", headers=bearer(alice))
    assert r.status_code == 409 and r.json()["code"] == "risk.already_answered"
    assert await balance(client, bob) == ("2500.00", "0.00")


async def test_no_cancels_the_held_transfer_and_freezes_the_account(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, _, alice_id = await ready_user(client, app, minor=500_000)
    bob_phone, bob, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    held_id = (await _send(client, alice, bob_phone, "3000.00")).json()["held"]
    r = await client.post(f"/api/v1/wallet/held/{held_id}/no", headers=bearer(alice))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "denied"
    assert await balance(client, alice) == ("5000.00", "0.00")
    assert await balance(client, bob) == ("0.00", "0.00")
    me = (await client.get("/api/v1/me", headers=bearer(alice))).json()
    assert me["frozen"] is True
    # Frozen: nothing more leaves the account.
    r = await _send(client, alice, bob_phone, "1.00")
    assert r.status_code in (403, 409) and "frozen" in r.json()["code"]
    assert [d.outcome for d in await _decisions(app, alice_id)] == ["denied"]
    tx = (await client.get("/api/v1/wallet/transactions", headers=bearer(alice))).json()
    assert [t["status"] for t in tx["transactions"]] == ["failed"]


async def test_yes_and_no_at_the_same_instant_one_wins(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, _, _ = await ready_user(client, app, minor=500_000)
    bob_phone, bob, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    held_id = (await _send(client, alice, bob_phone, "2000.00")).json()["held"]
    code = await last_code(app, e164(phone))
    yes, no = await asyncio.gather(
        client.post(
            f"/api/v1/wallet/held/{held_id}/yes", json={"code": code}, headers=bearer(alice)
        ),
        client.post(f"/api/v1/wallet/held/{held_id}/no", headers=bearer(alice)),
    )
    statuses = sorted([yes.status_code, no.status_code])
    assert statuses == [200, 409], (yes.text, no.text)
    loser = yes if yes.status_code == 409 else no
    assert loser.json()["code"] == "risk.already_answered"
    alice_bal, bob_bal = await balance(client, alice), await balance(client, bob)
    if yes.status_code == 200:
        assert (alice_bal, bob_bal) == (("3000.00", "0.00"), ("2000.00", "0.00"))
    else:
        assert (alice_bal, bob_bal) == (("5000.00", "0.00"), ("0.00", "0.00"))


async def test_no_answer_in_time_cancels_it_and_a_late_answer_is_refused(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock
):
    client, app = fresh_client, fresh_app
    clock.freeze(clock.now())
    phone, _, _ = await ready_user(client, app, minor=500_000)
    bob_phone, bob, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    held_id = (await _send(client, alice, bob_phone, "2000.00")).json()["held"]
    code = await last_code(app, e164(phone))
    clock.advance(minutes=31)
    r = await client.post(
        f"/api/v1/wallet/held/{held_id}/yes", json={"code": code}, headers=bearer(alice)
    )
    assert r.status_code == 409 and r.json()["code"] == "risk.answer_too_late"
    async with app.state.db.transaction() as s:
        assert await held_answers.expire_due(s, app.state.settings) == 1
    assert await balance(client, alice) == ("5000.00", "0.00")
    assert await balance(client, bob) == ("0.00", "0.00")
    r = await client.get(f"/api/v1/wallet/held/{held_id}", headers=bearer(alice))
    assert r.json()["status"] == "expired"
    await last_code(app, e164(phone))  # delivers the queued messages
    assert (
        "cancelled" in sms_messages(app, e164(phone))[-1]
        or "取消" in sms_messages(app, e164(phone))[-1]
    )


async def test_someone_elses_held_transfer_is_not_found(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, _, _ = await ready_user(client, app, minor=500_000)
    bob_phone, bob, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    held_id = (await _send(client, alice, bob_phone, "2000.00")).json()["held"]
    for path in ("", "/no", "/code"):
        method = client.get if not path else client.post
        r = await method(f"/api/v1/wallet/held/{held_id}{path}", headers=bearer(bob))
        assert r.status_code == 404 and r.json()["code"] == "risk.held_not_found"
    assert await balance(client, alice) == ("3000.00", "2000.00")


async def test_a_replay_of_a_held_transfer_returns_it_and_holds_nothing_more(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, _, _ = await ready_user(client, app, minor=500_000)
    bob_phone, _, _ = await ready_user(client, app)
    alice = await _new_device_login(client, phone)
    same = key()
    first = await _send(client, alice, bob_phone, "2000.00", headers=same)
    again = await _send(client, alice, bob_phone, "2000.00", headers=same)
    assert first.status_code == again.status_code == 202
    assert again.json()["held"] == first.json()["held"] and again.json()["replayed"] is True
    assert await balance(client, alice) == ("3000.00", "2000.00")


async def test_a_large_amount_to_a_new_payee_asks_for_a_code_bound_to_amount_and_payee(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, alice, alice_id = await ready_user(client, app, minor=2_000_000, tier=1)
    bob_phone, bob, _ = await ready_user(client, app)
    carol_phone, _, _ = await ready_user(client, app)
    same = key()
    r = await _send(client, alice, bob_phone, "6000.00", headers=same)
    assert r.status_code == 403 and r.json()["code"] == "risk.step_up_required", r.text
    assert await balance(client, alice) == ("20000.00", "0.00")
    r = await client.post(
        "/api/v1/wallet/transfers/step-up-code",
        json={"to": bob_phone, "amount": "6000.00", "currency": "CNY"},
        headers=bearer(alice),
    )
    assert r.status_code == 202, r.text
    code = await last_code(app, e164(phone))
    text = sms_messages(app, e164(phone))[-1]
    assert "6000.00 CNY" in text and bob_phone[-4:] in text
    # The code works only for this amount and this payee.
    r = await _send(client, alice, bob_phone, "6000.01", step_up_code=code)
    assert r.status_code == 422 and r.json()["code"] == "identity.code_invalid", r.text
    r = await _send(client, alice, carol_phone, "6000.00", step_up_code=code)
    assert r.status_code in (400, 422) and r.json()["code"].startswith("identity."), r.text
    assert await balance(client, alice) == ("20000.00", "0.00")
    r = await client.post(
        "/api/v1/wallet/transfers/step-up-code",
        json={"to": bob_phone, "amount": "6000.00", "currency": "CNY"},
        headers=bearer(alice),
    )
    code = await last_code(app, e164(phone))
    r = await _send(client, alice, bob_phone, "6000.00", headers=same, step_up_code=code)
    assert r.status_code == 201, r.text
    assert await balance(client, bob) == ("6000.00", "0.00")
    log = [(d.action, d.reasons, d.outcome) for d in await _decisions(app, alice_id)]
    assert log[0] == ("step_up", ["new_payee_large"], None)
    assert log[-1] == ("step_up", ["new_payee_large"], "passed")
    # Bob is no longer new: the next large transfer to him goes through at once.
    r = await _send(client, alice, bob_phone, "5000.00")
    assert r.status_code == 201, r.text


async def test_a_blocking_rule_refuses_and_its_decision_is_kept(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    _, alice, alice_id = await ready_user(client, app, minor=2_000_000)
    bob_phone, bob, _ = await ready_user(client, app)
    await _set_rule(app, "new_payee_large", action="block", min_amount=100)
    r = await _send(client, alice, bob_phone, "100.00")
    assert r.status_code == 403 and r.json()["code"] == "risk.blocked"
    assert await balance(client, alice) == ("20000.00", "0.00")
    assert await balance(client, bob) == ("0.00", "0.00")
    assert [(d.action, d.reasons) for d in await _decisions(app, alice_id)] == [
        ("block", ["new_payee_large"])
    ]
    r = await _send(client, alice, bob_phone, "99.99")
    assert r.status_code == 201
    last = (await _decisions(app, alice_id))[-1]
    assert (last.action, last.reasons, last.signals["new_payee"]) == ("allow", [], True)
