"""Helpers for ledger tests: open accounts, fund them, read every balance."""

from __future__ import annotations

import itertools
import uuid

import asyncpg

from qianbao.ledger import Ledger, accounts, transfer

_counter = itertools.count()


def key(prefix: str = "k") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


async def open_wallet(conn: asyncpg.Connection, currency: str = "CNY", **kwargs: object) -> int:
    account, _ = await accounts.open_account(
        conn,
        key=key("open"),
        currency=currency,
        kind=kwargs.pop("kind", "user_wallet"),  # type: ignore[arg-type]
        owner_id=uuid.uuid4(),
        **kwargs,  # type: ignore[arg-type]
    )
    return account.id


async def fund(
    conn: asyncpg.Connection, account_id: int, amount: int, currency: str = "CNY"
) -> None:
    source = await accounts.system_account_id(conn, "equity", currency, "opening")
    await Ledger(conn).post(
        transfer(
            key("fund"),
            debit_account_id=source,
            credit_account_id=account_id,
            amount=amount,
            currency=currency,
            entry_type="funding",
        )
    )


async def snapshot(conn: asyncpg.Connection) -> dict[int, tuple[int, int, int, int]]:
    rows = await conn.fetch(
        "SELECT id, posted, pending_out, pending_in, version FROM ledger_accounts"
    )
    return {r["id"]: (r["posted"], r["pending_out"], r["pending_in"], r["version"]) for r in rows}


async def check_invariants(conn: asyncpg.Connection) -> None:
    """Every entry sums to zero per currency; balances sum to zero; stored = sum of postings."""
    unbalanced = await conn.fetchval(
        """SELECT count(*) FROM (SELECT entry_id, currency FROM ledger_postings
           GROUP BY entry_id, currency HAVING sum(amount) <> 0) x"""
    )
    assert unbalanced == 0
    per_currency = await conn.fetch(
        "SELECT currency, sum(posted) AS s, sum(pending_out) - sum(pending_in) AS p FROM ledger_accounts GROUP BY currency"
    )
    for row in per_currency:
        assert row["s"] == 0, row
        assert row["p"] == 0, row
    mismatched = await conn.fetchval(
        """SELECT count(*) FROM ledger_accounts a
           WHERE a.posted <> coalesce((SELECT sum(amount) FROM ledger_postings p WHERE p.account_id = a.id), 0)"""
    )
    assert mismatched == 0
    last_balance_wrong = await conn.fetchval(
        """SELECT count(*) FROM ledger_accounts a
           WHERE a.posted <> coalesce((SELECT balance_after FROM ledger_postings p WHERE p.account_id = a.id
                                       ORDER BY id DESC LIMIT 1), 0)"""
    )
    assert last_balance_wrong == 0
    pending_wrong = await conn.fetchval(
        """SELECT count(*) FROM ledger_accounts a WHERE
             a.pending_out <> coalesce((SELECT sum(amount) FROM ledger_holds h WHERE h.debit_account_id = a.id AND h.status = 'pending'), 0)
          OR a.pending_in <> coalesce((SELECT sum(amount) FROM ledger_holds h WHERE h.credit_account_id = a.id AND h.status = 'pending'), 0)"""
    )
    assert pending_wrong == 0
    negative = await conn.fetchval(
        "SELECT count(*) FROM ledger_accounts WHERE no_negative AND posted - pending_out < 0"
    )
    assert negative == 0
