"""Wallet test helpers: a user with a PIN, a bound card, money from the opening-equity account."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from qianbao.identity import accounts as id_accounts
from qianbao.identity.models import User
from qianbao.ledger import Ledger, accounts, transfer
from qianbao.rails import factory as rails
from qianbao.wallet import payouts
from qianbao.wallet.accounts import wallet_account
from tests.support.identity import bearer, deliver, e164, last_code, sign_up
from tests.support.secrets import remember

PIN = "583920"
remember(PIN)
NAME = "王小明"
CARD_OK = "6222020000000004242"
CARD_DECLINED = "6225880000000000002"
CARD_NO_FUNDS = "6217000000000029995"
PAYOUT_FAILS = "6228480000000080069"
PAYOUT_RETURNED = "6216610000000060077"


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def ready_user(client: httpx.AsyncClient, app: FastAPI, *, minor: int = 0, tier: int = 0):
    """Signed up, PIN set, ``minor`` fen in the CNY wallet; returns (phone, token, user id)."""
    phone, token = await sign_up(client, app, real_name=NAME)
    r = await client.post("/api/v1/me/pin", json={"pin": PIN}, headers=bearer(token))
    assert r.status_code == 204, r.text
    user = await fund(app, phone, minor, tier=tier)
    return phone, token, user.id


async def fund(app: FastAPI, phone: str, minor: int, *, tier: int = 0) -> User:
    """Open the user's CNY wallet and put ``minor`` fen in it from the opening-equity account."""
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_phone(s, e164(phone))
        user.kyc_tier = tier
        wallet = await wallet_account(s, user.id, "CNY")
        if minor:
            ledger = await Ledger.of_session(s)
            source = await accounts.system_account_id(ledger.conn, "equity", "CNY", "opening")
            await ledger.post(
                transfer(
                    f"fund-{user.id}",
                    debit_account_id=source,
                    credit_account_id=wallet.id,
                    amount=minor,
                    currency="CNY",
                )
            )
    return user


async def bind_card(
    client: httpx.AsyncClient, app: FastAPI, phone: str, token: str, number: str
) -> str:
    app.state.settings.identity.otp_resend_cooldown_s = 0
    r = await client.post("/api/v1/wallet/cards/code", headers=bearer(token))
    assert r.status_code == 202, r.text
    code = await last_code(app, e164(phone))
    r = await client.post(
        "/api/v1/wallet/cards",
        json={"number": number, "holder_name": NAME, "pin": PIN, "code": code},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def withdraw(
    client: httpx.AsyncClient, app: FastAPI, phone: str, token: str, card: str, amount: str
) -> httpx.Response:
    """Ask for the SMS code, read it from the outbox, withdraw with it and the PIN."""
    r = await client.post(
        "/api/v1/wallet/withdrawals/code",
        json={"card_id": card, "amount": amount, "currency": "CNY"},
        headers=bearer(token),
    )
    assert r.status_code == 202, r.text
    code = await last_code(app, e164(phone))
    return await client.post(
        "/api/v1/wallet/withdrawals",
        json={"card_id": card, "amount": amount, "currency": "CNY", "pin": PIN, "code": code},
        headers={**bearer(token), **key()},
    )


async def balance(client: httpx.AsyncClient, token: str) -> tuple[str, str]:
    """(available, on hold) of the CNY wallet."""
    body = (await client.get("/api/v1/wallet", headers=bearer(token))).json()
    cny = next(b for b in body["balances"] if b["currency"] == "CNY")
    return cny["available"]["amount"], cny["pending"]["amount"]


async def settle_payouts(app: FastAPI) -> int:
    """Run the worker (payout submission, notifications), ask the payout backend for news as the
    periodic job does, and run the worker again."""
    await deliver(app)
    async with app.state.db.transaction() as s:
        changed = await payouts.poll(s, rails.payouts(app.state.settings))
    await deliver(app)
    return changed


async def system_balance(app: FastAPI, kind: str, code: str = "default") -> int:
    async with app.state.db.transaction() as s:
        ledger = await Ledger.of_session(s)
        account_id = await accounts.system_account_id(ledger.conn, kind, "CNY", code)
        return int(
            await ledger.conn.fetchval(
                "SELECT posted FROM ledger_accounts WHERE id = $1", account_id
            )
        )
