"""One parser per kind of input (issue 13, defect 3): the API takes ASCII digits only — an amount
in full-width or Arabic-Indic digits, or with a stray newline, moves nothing, and a PIN in
full-width digits is refused — while the pages read what a Chinese input method types
(full-width digits) as the ASCII it stands for, and show what they understood."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from tests.support.identity import bearer
from tests.support.wallet import CARD_OK, PIN, balance, bind_card, key, ready_user


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


async def test_every_amount_comes_with_its_currency(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """No silent CNY (issue 13, defect 4): a transfer, top-up, withdrawal or quote without a
    currency is refused and moves nothing."""
    phone, alice, _ = await ready_user(fresh_client, fresh_app, minor=50_000)
    bob_phone, _, _ = await ready_user(fresh_client, fresh_app)
    card = await bind_card(fresh_client, fresh_app, phone, alice, CARD_OK)
    for path, body in (
        ("/api/v1/wallet/transfers", {"to": bob_phone, "amount": "1.00", "pin": PIN}),
        ("/api/v1/wallet/topups", {"card_id": card, "amount": "1.00", "pin": PIN}),
        ("/api/v1/wallet/withdrawals/quote", {"card_id": card, "amount": "1.00"}),
        ("/api/v1/wallet/withdrawals",
         {"card_id": card, "amount": "1.00", "pin": PIN, "code": "123456"}),
    ):  # fmt: skip
        r = await fresh_client.post(path, json=body, headers={**bearer(alice), **key()})
        assert r.status_code == 422, (path, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["currency"], (path, r.text)
    assert await balance(fresh_client, alice) == ("500.00", "0.00")


async def test_inputs_that_gave_server_errors_get_a_coded_4xx(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    """Issue 13, defect 11: braces in a currency (a user's value used as a format string), a
    NUL in free text, a nonsense date before the permission check, an id beyond bigint."""
    _, alice, _ = await ready_user(fresh_client, fresh_app, minor=10_000)
    bob_phone, _, _ = await ready_user(fresh_client, fresh_app)
    for currency in ("X}", "{", "{0}", "}{"):
        r = await fresh_client.post(
            "/api/v1/wallet/transfers",
            json={"to": bob_phone, "amount": "1.00", "currency": currency, "pin": PIN},
            headers={**bearer(alice), **key()},
        )
        assert r.status_code == 422 and r.json()["code"] == "money.unknown_currency", r.text
        for path in ("/api/v1/wallet/transactions", "/api/v1/wallet/statements/2026-11"):
            r = await fresh_client.get(
                path, params={"currency": currency, "min_amount": "1"}, headers=bearer(alice)
            )
            assert 400 <= r.status_code < 500, (path, currency, r.text)
    assert await balance(fresh_client, alice) == ("100.00", "0.00")

    # A NUL in a ticket: cleaned out of free text (PostgreSQL stores no NUL), never a 500.
    r = await fresh_client.post(
        "/api/v1/support/tickets",
        json={"category": "other", "subject": "Help\u0000me", "body": "line one\u0000\r\nline two"},
        headers=bearer(alice),
    )
    assert r.status_code == 201, r.text
    assert r.json()["subject"] == "Helpme"
    assert "\u0000" not in r.text and "line one\\nline two" in r.text

    # A customer asking for the supervisors' report with a nonsense date: refused for who they
    # are (before the date is looked at).
    r = await fresh_client.get("/api/v1/support/reports", params={"end": "0001-01-01"},
                               headers=bearer(alice))  # fmt: skip
    assert r.status_code == 403, r.text

    # The operator API: an account id beyond bigint names no account.
    fresh_app.state.settings.admin.api_token = SecretStr("ops-token-0123456789")
    r = await fresh_client.get(
        "/api/v1/ledger/accounts/99999999999999999999999",
        headers={"Authorization": "Bearer ops-token-0123456789"},
    )
    assert r.status_code == 404 and r.json()["code"] == "ledger.account_not_found", r.text
