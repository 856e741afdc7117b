"""Each user has one ledger account per currency, opened on first use (idempotently)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.ledger.accounts import Account

DEFAULT_CURRENCY = "CNY"


@dataclass(frozen=True)
class Balance:
    currency: str
    available: int
    pending: int
    posted: int
    account_id: int
    status: str


async def wallet_account(
    session: Any, user_id: uuid.UUID, currency: str = DEFAULT_CURRENCY
) -> Account:
    """The user's wallet account in ``currency`` (opened if it does not exist yet)."""
    ledger = await Ledger.of_session(session)
    key = f"wallet:{user_id}:{currency}"
    existing = await ledger_accounts.account_by_key(ledger.conn, key)
    if existing is not None:  # the usual case: one query
        return existing
    account, _ = await ledger_accounts.open_account(
        ledger.conn, key=key, currency=currency, kind="user_wallet", owner_id=user_id
    )
    return account


async def wallet_accounts(session: Any, wanted: list[tuple[uuid.UUID, str]]) -> list[Account]:
    """``wallet_account`` for several ``(user id, currency)`` in one statement (a transfer's two
    sides); the missing ones are opened."""
    ledger = await Ledger.of_session(session)
    keys = [f"wallet:{user_id}:{currency}" for user_id, currency in wanted]
    found = await ledger_accounts.accounts_by_keys(ledger.conn, keys)
    return [
        found.get(key) or await wallet_account(session, user_id, currency)
        for key, (user_id, currency) in zip(keys, wanted, strict=True)
    ]


async def balances(session: Any, user_id: uuid.UUID) -> list[Balance]:
    """Balance per currency; the default currency is always listed, even before first use."""
    ledger = await Ledger.of_session(session)
    owned = [
        a
        for a in await ledger_accounts.accounts_of_owner(ledger.conn, user_id)
        if a.kind == "user_wallet"
    ]
    if not any(a.currency == DEFAULT_CURRENCY for a in owned):
        owned.insert(0, await wallet_account(session, user_id, DEFAULT_CURRENCY))
    return [
        Balance(
            currency=a.currency,
            available=a.available,
            pending=a.pending_out,
            posted=a.posted,
            account_id=a.id,
            status=a.status,
        )
        for a in sorted(owned, key=lambda a: (a.currency != DEFAULT_CURRENCY, a.currency))
    ]


async def available(session: Any, user_id: uuid.UUID, currency: str = DEFAULT_CURRENCY) -> int:
    """What the user can spend now in ``currency`` (minor units): posted minus what is on hold."""
    return (await wallet_account(session, user_id, currency)).available
