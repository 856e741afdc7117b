"""Binding bank cards and accounts: Luhn, BIN bank names, IBAN, PIN + SMS code, masking,
encryption at rest, one default, other users' cards."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from stdnum import luhn

from qianbao.identity import accounts as id_accounts
from qianbao.wallet import cards
from tests.support.identity import bearer, e164, last_code, sign_up
from tests.support.secrets import remember

PIN = "583920"


def card_number(prefix: str = "622202", length: int = 19) -> str:
    body = prefix + "1234567890123"[: length - len(prefix) - 1]
    return body + luhn.calc_check_digit(body)


async def _ready_user(client: httpx.AsyncClient, app: FastAPI, real_name: str | None = "王小明"):
    phone, token = await sign_up(client, app, **({"real_name": real_name} if real_name else {}))
    assert (
        await client.post("/api/v1/me/pin", json={"pin": PIN}, headers=bearer(token))
    ).status_code == 204
    return phone, token


async def _bind(client, app, phone, token, number, holder="王小明", pin=PIN, code=None):
    if code is None:
        app.state.settings.identity.otp_resend_cooldown_s = 0
        assert (
            await client.post("/api/v1/wallet/cards/code", headers=bearer(token))
        ).status_code == 202
        code = await last_code(app, e164(phone))
    return await client.post(
        "/api/v1/wallet/cards",
        json={"number": number, "holder_name": holder, "pin": pin, "code": code},
        headers=bearer(token),
    )


async def test_bind_a_card_masked_everywhere_sealed_at_rest(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token = await _ready_user(fresh_client, fresh_app)
    number = card_number()
    remember(number)
    r = await _bind(
        fresh_client, fresh_app, phone, token, " ".join(number[i : i + 4] for i in range(0, 19, 4))
    )
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["masked"] == f"•••• {number[-4:]}"
    assert card["bank_name"] == "中国工商银行"
    assert card["is_default"] is True
    listed = await fresh_client.get(
        "/api/v1/wallet/cards", headers={**bearer(token), "Accept-Language": "en"}
    )
    assert listed.json()[0]["bank_name"] == "Industrial and Commercial Bank of China"
    assert number not in listed.text and number[:12] not in listed.text
    async with fresh_app.state.db.session() as s:
        stored = (await s.execute(text("SELECT number_sealed FROM bank_cards"))).scalars().all()
        assert all(number not in value and not value[3:].isdigit() for value in stored)
        user = await id_accounts.by_phone(s, e164(phone))
        row = await cards.get_card(s, user.id, card["id"])
        assert cards.reveal(fresh_app.state.settings, row) == number  # only the server can open it
    # The same card again is refused; nothing is added.
    r = await _bind(fresh_client, fresh_app, phone, token, number)
    assert r.json()["code"] == "wallet.card_already_bound"
    assert len((await fresh_client.get("/api/v1/wallet/cards", headers=bearer(token))).json()) == 1


async def test_bad_numbers_holders_pins_and_codes_are_refused(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token = await _ready_user(fresh_client, fresh_app)
    good = card_number("621700")
    bad_luhn = good[:-1] + str((int(good[-1]) + 1) % 10)
    r = await _bind(fresh_client, fresh_app, phone, token, bad_luhn)
    assert r.json()["code"] == "wallet.card_invalid"
    r = await _bind(fresh_client, fresh_app, phone, token, "not a card")
    assert r.json()["code"] == "wallet.card_invalid"
    r = await _bind(fresh_client, fresh_app, phone, token, good, holder="李四")
    assert r.json()["code"] == "wallet.holder_mismatch"
    r = await _bind(fresh_client, fresh_app, phone, token, good, pin="000000")
    assert r.json()["code"] == "identity.wrong_pin"
    r = await _bind(fresh_client, fresh_app, phone, token, good, code="000000")
    assert r.json()["code"] == "identity.code_invalid"
    assert (await fresh_client.get("/api/v1/wallet/cards", headers=bearer(token))).json() == []


async def test_iban_default_switch_remove_and_other_users(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token = await _ready_user(fresh_client, fresh_app, real_name=None)
    r = await _bind(
        fresh_client,
        fresh_app,
        phone,
        token,
        "DE89 3704 0044 0532 0130 00",
        holder="Max Mustermann",
    )
    assert r.status_code == 201, r.text
    iban = r.json()
    assert (iban["kind"], iban["country"], iban["masked"]) == ("iban", "DE", "•••• 3000")
    r = await _bind(
        fresh_client,
        fresh_app,
        phone,
        token,
        "DE89 3704 0044 0532 0130 01",
        holder="Max Mustermann",
    )
    assert r.json()["code"] == "wallet.card_invalid"  # checksum
    r = await _bind(
        fresh_client, fresh_app, phone, token, card_number("622588"), holder="Max Mustermann"
    )
    second = r.json()
    assert second["is_default"] is False and second["bank_name"] == "招商银行"
    r = await fresh_client.post(
        f"/api/v1/wallet/cards/{second['id']}/default", headers=bearer(token)
    )
    assert r.json()["is_default"] is True
    listed = (await fresh_client.get("/api/v1/wallet/cards", headers=bearer(token))).json()
    assert [c["id"] for c in listed] == [second["id"], iban["id"]]
    _, other = await _ready_user(fresh_client, fresh_app)
    assert (
        await fresh_client.delete(f"/api/v1/wallet/cards/{second['id']}", headers=bearer(other))
    ).status_code == 404
    assert (
        await fresh_client.post(
            f"/api/v1/wallet/cards/{second['id']}/default", headers=bearer(other)
        )
    ).status_code == 404
    assert (
        await fresh_client.delete(f"/api/v1/wallet/cards/{second['id']}", headers=bearer(token))
    ).status_code == 204
    listed = (await fresh_client.get("/api/v1/wallet/cards", headers=bearer(token))).json()
    assert [(c["id"], c["is_default"]) for c in listed] == [(iban["id"], True)]
