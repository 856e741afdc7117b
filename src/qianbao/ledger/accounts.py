"""Accounts: opening (idempotent), status changes, balances now and at an instant, statements."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from qianbao.kernel.errors import IdempotencyKeyReused, ValidationFailed
from qianbao.kernel.money import currency as lookup_currency
from qianbao.ledger.commands import check_key
from qianbao.ledger.errors import AccountNotEmpty, AccountNotFound
from qianbao.ledger.models import ACCOUNT_KINDS, ACCOUNT_STATUSES

# Kinds that hold someone's money and so must never go below zero.
NO_NEGATIVE_KINDS = {"user_wallet", "merchant", "agent_float", "hold", "fee_revenue"}

ACCOUNT_COLUMNS = """id, currency, kind, owner_id, code, no_negative, no_positive, status, posted,
    pending_out, pending_in, version, created_at, metadata::text AS metadata"""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    currency: str
    kind: str
    owner_id: UUID | None
    code: str | None
    no_negative: bool
    no_positive: bool
    status: str
    posted: int
    pending_out: int
    pending_in: int
    version: int
    created_at: datetime
    metadata: dict[str, Any]

    @property
    def available(self) -> int:
        return self.posted - self.pending_out

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Account:
        values = dict(row)
        values.pop("command_key", None)  # selected by accounts_by_keys to match them
        values["metadata"] = json.loads(values["metadata"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Balances:
    account_id: int
    currency: str
    posted: int
    pending_out: int
    pending_in: int
    as_of: datetime | None

    @property
    def available(self) -> int:
        return self.posted - self.pending_out


@dataclass(frozen=True, slots=True)
class StatementLine:
    posting_id: int
    entry_id: UUID
    entry_type: str
    amount: int
    balance_after: int
    created_at: datetime
    effective_at: datetime
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatementPage:
    lines: list[StatementLine]
    next_cursor: str | None


async def open_account(
    conn: asyncpg.Connection,
    *,
    key: str,
    currency: str,
    kind: str,
    owner_id: UUID | None = None,
    code: str | None = None,
    no_negative: bool | None = None,
    no_positive: bool = False,
    metadata: dict[str, Any] | None = None,
) -> tuple[Account, bool]:
    """Open an account; the same key again returns the same account. Returns (account, created)."""
    check_key(key)
    lookup_currency(currency)
    if kind not in ACCOUNT_KINDS:
        raise ValidationFailed()
    if no_negative is None:
        no_negative = kind in NO_NEGATIVE_KINDS and not no_positive
    row = await conn.fetchrow(
        f"""INSERT INTO ledger_accounts (currency, kind, owner_id, code, no_negative, no_positive,
                                         command_key, metadata)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
            ON CONFLICT (command_key) DO NOTHING
            RETURNING {ACCOUNT_COLUMNS}""",
        currency,
        kind,
        owner_id,
        code,
        no_negative,
        no_positive,
        key,
        json.dumps(metadata or {}),
    )
    if row is not None:
        return Account.from_row(row), True
    existing = await conn.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE command_key = $1",
        key,
    )
    account = Account.from_row(existing)
    same = (account.currency, account.kind, account.owner_id, account.code) == (
        currency,
        kind,
        owner_id,
        code,
    )
    if not same:
        raise IdempotencyKeyReused()
    return account, False


async def account_by_key(conn: asyncpg.Connection, key: str) -> Account | None:
    """The account an ``open_account`` key created, if any."""
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE command_key = $1", key
    )
    return Account.from_row(row) if row is not None else None


async def accounts_by_keys(conn: asyncpg.Connection, keys: list[str]) -> dict[str, Account]:
    """``account_by_key`` for several keys in one statement; missing keys are left out."""
    rows = await conn.fetch(
        f"SELECT command_key, {ACCOUNT_COLUMNS} FROM ledger_accounts"
        " WHERE command_key = ANY($1::text[])",
        keys,
    )
    return {row[0]: Account.from_row(row) for row in rows}


async def get_account(conn: asyncpg.Connection, account_id: int) -> Account:
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1",
        account_id,
    )
    if row is None:
        raise AccountNotFound()
    return Account.from_row(row)


async def accounts_of_owner(conn: asyncpg.Connection, owner_id: UUID) -> list[Account]:
    rows = await conn.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE owner_id = $1 ORDER BY id",
        owner_id,
    )
    return [Account.from_row(r) for r in rows]


_system_cache: dict[tuple[str, str, str], int] = {}


async def system_account_id(
    conn: asyncpg.Connection, kind: str, currency: str, code: str = "default"
) -> int:
    """The id of a system account of the chart (created by migration); cached: ids never change."""
    cache_key = (kind, currency, code)
    found = _system_cache.get(cache_key)
    if found is not None:
        return found
    account_id = await conn.fetchval(
        "SELECT id FROM ledger_accounts WHERE owner_id IS NULL AND kind = $1 AND currency = $2 AND code = $3",
        kind,
        currency,
        code,
    )
    if account_id is None:
        raise AccountNotFound()
    _system_cache[cache_key] = account_id
    return int(account_id)


async def set_status(conn: asyncpg.Connection, account_id: int, status: str) -> Account:
    """Freeze (fully or for debits), unfreeze or close an account. Closing needs a zero balance."""
    if status not in ACCOUNT_STATUSES:
        raise ValidationFailed()
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT posted, pending_out, pending_in FROM ledger_accounts WHERE id = $1 FOR UPDATE",
            account_id,
        )
        if row is None:
            raise AccountNotFound()
        if status == "closed" and any(row):
            raise AccountNotEmpty()
        updated = await conn.fetchrow(
            f"""UPDATE ledger_accounts SET status = $2, version = version + 1 WHERE id = $1
                RETURNING {ACCOUNT_COLUMNS}""",
            account_id,
            status,
        )
    return Account.from_row(updated)


async def balances(
    conn: asyncpg.Connection, account_id: int, at: datetime | None = None
) -> Balances:
    account = await get_account(conn, account_id)
    if at is None:
        return Balances(
            account.id,
            account.currency,
            account.posted,
            account.pending_out,
            account.pending_in,
            None,
        )
    posted = await conn.fetchval(
        """SELECT balance_after FROM ledger_postings WHERE account_id = $1 AND created_at <= $2
           ORDER BY id DESC LIMIT 1""",
        account_id,
        at,
    )
    pending = await conn.fetchrow(
        """SELECT coalesce(sum(amount) FILTER (WHERE debit_account_id = $1), 0) AS out,
                  coalesce(sum(amount) FILTER (WHERE credit_account_id = $1), 0) AS in_
             FROM ledger_holds
            WHERE (debit_account_id = $1 OR credit_account_id = $1) AND created_at <= $2
              AND (resolved_at IS NULL OR resolved_at > $2)""",
        account_id,
        at,
    )
    return Balances(
        account.id, account.currency, int(posted or 0), int(pending["out"]), int(pending["in_"]), at
    )


def _encode_cursor(posting_id: int) -> str:
    return base64.urlsafe_b64encode(f"p:{posting_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "p":
            raise ValueError(raw)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed() from exc


# The first posting at or after ``since`` and the last one before ``until``, by id: each an
# index-only walk that stops at its first match.
POSTING_ID_BOUNDS = """
SELECT (SELECT id FROM ledger_postings WHERE account_id = $1 AND created_at >= $2
         ORDER BY id LIMIT 1) AS low,
       (SELECT id FROM ledger_postings WHERE account_id = $1 AND created_at < $3
         ORDER BY id DESC LIMIT 1) AS high
"""


async def statement(
    conn: asyncpg.Connection,
    account_id: int,
    *,
    cursor: str | None = None,
    limit: int = 50,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StatementPage:
    """Newest first, with the running balance after each line; ``next_cursor`` pages back."""
    await get_account(conn, account_id)
    limit = max(1, min(limit, 500))
    before = _decode_cursor(cursor) if cursor else None
    low = 0
    if since is not None or until is not None:
        # The time bounds as posting ids, read from the index alone (it carries created_at):
        # the lines are then one range of the index, not a walk over every newer or older
        # posting of a busy account with a table page each (statement_p99_ms, issue 17).
        bounds = await conn.fetchrow(POSTING_ID_BOUNDS, account_id, since, until)
        if (since is not None and bounds["low"] is None) or (
            until is not None and bounds["high"] is None
        ):
            return StatementPage([], None)
        low = bounds["low"] or 0
        if bounds["high"] is not None:
            before = min(before, bounds["high"] + 1) if before is not None else bounds["high"] + 1
    rows = await conn.fetch(
        """SELECT p.id, p.entry_id, e.entry_type, p.amount, p.balance_after, p.created_at,
                  e.effective_at, e.metadata::text AS metadata
             FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
            WHERE p.account_id = $1
              AND p.id < coalesce($2::bigint, 9223372036854775807)
              AND p.id >= $6
              AND ($3::timestamptz IS NULL OR p.created_at >= $3)
              AND ($4::timestamptz IS NULL OR p.created_at < $4)
            ORDER BY p.id DESC LIMIT $5""",
        account_id,
        before,
        since,
        until,
        limit + 1,
        low,
    )
    lines = [
        StatementLine(
            posting_id=r["id"],
            entry_id=r["entry_id"],
            entry_type=r["entry_type"],
            amount=r["amount"],
            balance_after=r["balance_after"],
            created_at=r["created_at"],
            effective_at=r["effective_at"],
            metadata=json.loads(r["metadata"]),
        )
        for r in rows[:limit]
    ]
    next_cursor = _encode_cursor(lines[-1].posting_id) if len(rows) > limit else None
    return StatementPage(lines, next_cursor)


async def kind_totals(conn: asyncpg.Connection, kind: str, currency: str) -> tuple[int, int, int]:
    """``(holders, Σ posted, Σ pending_out)`` over every account of ``kind`` in ``currency``
    (what a domain owes its account holders, e.g. all merchant accounts; a holder may have
    several accounts of a kind)."""
    row = await conn.fetchrow(
        """SELECT count(DISTINCT owner_id) AS n, coalesce(sum(posted), 0) AS posted,
                  coalesce(sum(pending_out), 0) AS pending_out
             FROM ledger_accounts WHERE kind = $1 AND currency = $2""",
        kind,
        currency,
    )
    assert row is not None
    return int(row["n"]), int(row["posted"]), int(row["pending_out"])


async def totals_by_entry_type(
    conn: asyncpg.Connection,
    account_ids: int | list[int],
    entry_types: list[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """The sum of an account's (or several accounts') postings per entry type (of those given),
    in ``[since, until)``: how much of a shared account (fee revenue, marketing) came from one
    kind of business."""
    ids = [account_ids] if isinstance(account_ids, int) else list(account_ids)
    rows = await conn.fetch(
        """SELECT e.entry_type, sum(p.amount) AS total
             FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
            WHERE p.account_id = ANY($1::bigint[]) AND e.entry_type = ANY($2::text[])
              AND ($3::timestamptz IS NULL OR p.created_at >= $3)
              AND ($4::timestamptz IS NULL OR p.created_at < $4)
            GROUP BY e.entry_type""",
        ids,
        entry_types,
        since,
        until,
    )
    found = {t: 0 for t in entry_types}
    found.update({r["entry_type"]: int(r["total"]) for r in rows})
    return found


async def trial_balance(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every account's balance summed per kind, code and currency (owned accounts — wallets,
    merchants — summed over their owners): the ledger's trial balance. Per currency the
    ``posted`` column sums to zero."""
    rows = await conn.fetch(
        """SELECT kind, CASE WHEN owner_id IS NULL THEN code END AS code, currency,
                  count(*) AS accounts, coalesce(sum(posted), 0) AS posted,
                  coalesce(sum(pending_out), 0) AS pending_out,
                  coalesce(sum(pending_in), 0) AS pending_in
             FROM ledger_accounts
            GROUP BY 1, 2, 3
            ORDER BY 3, 1, 2 NULLS FIRST"""
    )
    return [
        {
            "kind": r["kind"],
            "code": r["code"],
            "currency": r["currency"],
            "accounts": int(r["accounts"]),
            "posted": int(r["posted"]),
            "pending_out": int(r["pending_out"]),
            "pending_in": int(r["pending_in"]),
        }
        for r in rows
    ]
