"""One parser per kind of input (issue 13, defect 3): the API takes ASCII digits only — an amount
in full-width or Arabic-Indic digits, or with a stray newline, moves nothing, and a PIN in
full-width digits is refused — while the pages read what a Chinese input method types
(full-width digits) as the ASCII it stands for, and show what they understood."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.support.identity import bearer
from tests.support.wallet import PIN, balance, key, ready_user


async def test_amounts_and_pins_in_other_digits_move_nothing(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    _, alice, _ = await ready_user(fresh_client, fresh_app, minor=50_000)
    bob_phone, bob, _ = await ready_user(fresh_client, fresh_app)

    async def send(amount: str, pin: str = PIN) -> httpx.Response:
        return await fresh_client.post(
            "/api/v1/wallet/transfers",
            json={"to": bob_phone, "amount": amount, "currency": "CNY", "pin": pin},
            headers={**bearer(alice), **key()},
        )

    for amount in ("１００", "١٠٠", "1.00\n", " 1", "1e2"):
        r = await send(amount)
        assert r.status_code == 422 and r.json()["code"] == "money.invalid_amount", (amount, r.text)
    full_width_pin = PIN.translate({ord(d): chr(0xFF10 + int(d)) for d in "0123456789"})
    r = await send("1.00", pin=full_width_pin)  # the right PIN, in full-width digits
    assert r.status_code == 401 and r.json()["code"] == "identity.wrong_pin"
    r = await fresh_client.post(
        "/api/v1/me/pin", json={"pin": "９３８４７１", "password": "x"}, headers=bearer(bob)
    )
    assert r.status_code == 422, r.text
    assert await balance(fresh_client, alice) == ("500.00", "0.00")
    assert await balance(fresh_client, bob) == ("0.00", "0.00")
    assert (await send("1.00")).status_code == 201


async def test_pages_read_full_width_digits_as_ascii(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    _, alice, _ = await ready_user(fresh_client, fresh_app, minor=50_000)
    r = await fresh_client.get(
        "/wallet/history",
        params={"min_amount": "１０．５"},
        headers={**bearer(alice), "Accept-Language": "en"},
    )
    assert r.status_code == 200, r.text
    assert 'value="10.5"' in r.text  # what was understood is shown in the filter
    assert "The lowest amount is not valid" not in r.text
    r = await fresh_client.get(
        "/wallet/history",
        params={"min_amount": "١٠"},
        headers={**bearer(alice), "Accept-Language": "en"},
    )
    assert r.status_code == 422 and "The lowest amount is not valid" in r.text
