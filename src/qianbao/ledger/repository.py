"""All ledger SQL, on asyncpg directly (the hot path cannot afford an ORM).

A batch is applied in four round trips whatever its size: lock holds (if any), lock accounts in
ascending id order, look up idempotency keys, and one statement that writes entries, postings,
holds, account balances, idempotency records and an outbox message together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from qianbao.ledger.commands import EntryResult, HoldResult, PostingResult
from qianbao.ledger.engine import Batch
from qianbao.ledger.state import AccountState, ExistingCommand, HoldState, ReversibleEntry

Conn: TypeAlias = asyncpg.Connection

LOCK_HOLDS = """
SELECT id, debit_account_id, credit_account_id, currency, amount, status, entry_type,
       metadata::text AS metadata, expires_at, posted_amount, entry_id
  FROM ledger_holds WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
"""

LOCK_ACCOUNTS = """
SELECT id, currency, no_negative, no_positive, status, posted, pending_out, pending_in
  FROM ledger_accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE
"""

# The accounts locked and the idempotency keys looked up in one round trip. The keys are read
# with the statement's snapshot, taken before the lock waits: as when they were read first on
# their own (see ``Ledger._apply``).
LOCK_ACCOUNTS_WITH_KEYS = """
SELECT id, currency, no_negative, no_positive, status, posted, pending_out, pending_in,
       (SELECT coalesce(json_agg(json_build_array(key, encode(fingerprint, 'hex'), kind,
                                                  entry_id, hold_id)), '[]')
          FROM ledger_commands WHERE key = ANY($2::text[]))::text AS known
  FROM ledger_accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE
"""

EXISTING_COMMANDS = """
SELECT key, fingerprint, kind, entry_id, hold_id FROM ledger_commands WHERE key = ANY($1::text[])
"""

REVERSIBLE = """
SELECT e.id, (SELECT r.id FROM ledger_entries r WHERE r.reverses_entry_id = e.id) AS reversed_by,
       array_agg(p.account_id ORDER BY p.id) AS accounts, array_agg(p.amount ORDER BY p.id) AS amounts,
       array_agg(p.currency ORDER BY p.id) AS currencies
  FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id
 WHERE e.id = ANY($1::uuid[]) GROUP BY e.id
"""

WRITE_BATCH = """
WITH
ins_entries AS (
  INSERT INTO ledger_entries (id, entry_type, metadata, effective_at, reverses_entry_id, hold_id,
                              created_at)
  SELECT *, COALESCE($38::timestamptz, now())
    FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::timestamptz[], $5::uuid[], $6::uuid[])
),
ins_postings AS (
  INSERT INTO ledger_postings (entry_id, account_id, currency, amount, balance_after, created_at)
  SELECT e, a, c, m, b, COALESCE($38::timestamptz, now())
    FROM unnest($7::uuid[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[])
         WITH ORDINALITY AS t(e, a, c, m, b, o)
   ORDER BY o
),
upd_accounts AS (
  UPDATE ledger_accounts AS acc
     SET posted = u.posted, pending_out = u.po, pending_in = u.pi, version = acc.version + u.dv
    FROM unnest($12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[])
         AS u(id, posted, po, pi, dv)
   WHERE acc.id = u.id
),
ins_holds AS (
  INSERT INTO ledger_holds (id, debit_account_id, credit_account_id, currency, amount, status,
                            entry_type, metadata, expires_at, posted_amount, entry_id, resolved_at)
  SELECT h.id, h.d, h.c, h.cur, h.amt, h.st, h.et, h.md, h.exp, h.pa, h.eid,
         CASE WHEN h.st = 'pending' THEN NULL ELSE COALESCE($38::timestamptz, statement_timestamp()) END
    FROM unnest($17::uuid[], $18::bigint[], $19::bigint[], $20::text[], $21::bigint[], $22::text[],
                $23::text[], $24::jsonb[], $25::timestamptz[], $26::bigint[], $27::uuid[])
         AS h(id, d, c, cur, amt, st, et, md, exp, pa, eid)
),
upd_holds AS (
  UPDATE ledger_holds AS h
     SET status = u.st, posted_amount = u.pa, entry_id = u.eid, resolved_at = COALESCE($38::timestamptz, statement_timestamp())
    FROM unnest($28::uuid[], $29::text[], $30::bigint[], $31::uuid[]) AS u(id, st, pa, eid)
   WHERE h.id = u.id
),
ins_commands AS (
  INSERT INTO ledger_commands (key, fingerprint, kind, entry_id, hold_id)
  SELECT * FROM unnest($32::text[], $33::bytea[], $34::text[], $35::uuid[], $36::uuid[])
),
ins_outbox AS (
  INSERT INTO outbox_messages (topic, payload)
  SELECT 'ledger.entries_posted', jsonb_build_object('entry_ids', $37::text[])
   WHERE cardinality($37::text[]) > 0
)
SELECT 1
"""


async def lock_holds(conn: Conn, hold_ids: Sequence[UUID]) -> dict[UUID, HoldState]:
    if not hold_ids:
        return {}
    rows = await conn.fetch(LOCK_HOLDS, list(hold_ids))
    return {
        r["id"]: HoldState(
            id=r["id"],
            debit_account_id=r["debit_account_id"],
            credit_account_id=r["credit_account_id"],
            currency=r["currency"],
            amount=r["amount"],
            status=r["status"],
            entry_type=r["entry_type"],
            metadata=r["metadata"],
            expires_at=r["expires_at"],
            posted_amount=r["posted_amount"],
            entry_id=r["entry_id"],
        )
        for r in rows
    }


async def lock_accounts(conn: Conn, account_ids: Iterable[int]) -> dict[int, AccountState]:
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = await conn.fetch(LOCK_ACCOUNTS, ids)
    return {r[0]: AccountState(*r) for r in rows}


async def lock_accounts_and_keys(
    conn: Conn, account_ids: Iterable[int], keys: Sequence[str]
) -> tuple[dict[int, AccountState], dict[str, ExistingCommand]]:
    """``lock_accounts`` and ``existing_commands`` in one statement (one round trip fewer on
    every posting)."""
    ids = sorted(set(account_ids))
    if not ids or not keys:
        return await lock_accounts(conn, ids), await existing_commands(conn, keys)
    rows = await conn.fetch(LOCK_ACCOUNTS_WITH_KEYS, ids, list(keys))
    known: dict[str, ExistingCommand] = {}
    if rows:
        for key, fingerprint, kind, entry_id, hold_id in json.loads(rows[0][8]):
            known[key] = ExistingCommand(
                bytes.fromhex(fingerprint),
                kind,
                UUID(entry_id) if entry_id else None,
                UUID(hold_id) if hold_id else None,
            )
    else:  # none of the accounts exists: the keys still count (a replay is a replay)
        known = await existing_commands(conn, keys)
    return {r[0]: AccountState(*r[:8]) for r in rows}, known


async def existing_commands(conn: Conn, keys: Sequence[str]) -> dict[str, ExistingCommand]:
    if not keys:
        return {}
    rows = await conn.fetch(EXISTING_COMMANDS, list(keys))
    return {r[0]: ExistingCommand(r[1], r[2], r[3], r[4]) for r in rows}


async def reversible_entries(conn: Conn, entry_ids: Sequence[UUID]) -> dict[UUID, ReversibleEntry]:
    if not entry_ids:
        return {}
    rows = await conn.fetch(REVERSIBLE, list(entry_ids))
    return {
        r["id"]: ReversibleEntry(
            list(zip(r["accounts"], r["amounts"], r["currencies"], strict=True)),
            reversed=r["reversed_by"] is not None,
        )
        for r in rows
    }


async def write_batch(conn: Conn, batch: Batch, booked_at: datetime | None = None) -> None:
    """Write what the batch decided in one statement. ``booked_at``: the time to book the entries
    at instead of the transaction's (a ledger on a non-system clock: demo data, tests)."""
    w = batch.writes
    touched = batch.touched_accounts()
    new_holds = batch.new_holds()
    changed = batch.changed_holds()
    if w.empty and not touched and not changed:
        return
    await conn.execute(
        WRITE_BATCH,
        w.entry_ids,
        w.entry_types,
        w.entry_metadata,
        w.entry_effective,
        w.entry_reverses,
        w.entry_holds,
        w.posting_entry,
        w.posting_account,
        w.posting_currency,
        w.posting_amount,
        w.posting_balance,
        [a.id for a in touched],
        [a.posted for a in touched],
        [a.pending_out for a in touched],
        [a.pending_in for a in touched],
        [a.changes for a in touched],
        [h.id for h in new_holds],
        [h.debit_account_id for h in new_holds],
        [h.credit_account_id for h in new_holds],
        [h.currency for h in new_holds],
        [h.amount for h in new_holds],
        [h.status for h in new_holds],
        [h.entry_type for h in new_holds],
        [h.metadata for h in new_holds],
        [h.expires_at for h in new_holds],
        [h.posted_amount for h in new_holds],
        [h.entry_id for h in new_holds],
        [h.id for h in changed],
        [h.status for h in changed],
        [h.posted_amount for h in changed],
        [h.entry_id for h in changed],
        w.command_keys,
        w.command_fingerprints,
        w.command_kinds,
        w.command_entries,
        w.command_holds,
        [str(e) for e in w.entry_ids],
        booked_at,
    )


# -- reading -------------------------------------------------------------------------------------
ENTRY = """
SELECT e.id, e.entry_type, e.metadata::text AS metadata, e.effective_at, e.created_at,
       e.reverses_entry_id, e.hold_id,
       (SELECT r.id FROM ledger_entries r WHERE r.reverses_entry_id = e.id) AS reversed_by
  FROM ledger_entries e WHERE e.id = $1
"""
ENTRY_POSTINGS = """
SELECT id, account_id, currency, amount, balance_after FROM ledger_postings
 WHERE entry_id = $1 ORDER BY id
"""
HOLD = """
SELECT id, debit_account_id, credit_account_id, currency, amount, status, entry_type,
       metadata::text AS metadata, expires_at, posted_amount, entry_id, created_at, resolved_at
  FROM ledger_holds WHERE id = $1
"""


async def fetch_entry(conn: Conn, entry_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(ENTRY, entry_id)
    if row is None:
        return None
    postings = await conn.fetch(ENTRY_POSTINGS, entry_id)
    entry = dict(row)
    entry["metadata"] = json.loads(entry["metadata"])
    entry["postings"] = [dict(p) for p in postings]
    return entry


async def entry_result(conn: Conn, entry_id: UUID, *, replayed: bool) -> EntryResult:
    entry = await fetch_entry(conn, entry_id)
    assert entry is not None
    return EntryResult(
        entry_id=entry["id"],
        entry_type=entry["entry_type"],
        postings=tuple(
            PostingResult(p["account_id"], p["currency"], p["amount"], p["balance_after"])
            for p in entry["postings"]
        ),
        replayed=replayed,
        reverses_entry_id=entry["reverses_entry_id"],
        hold_id=entry["hold_id"],
    )


async def fetch_hold(conn: Conn, hold_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(HOLD, hold_id)
    if row is None:
        return None
    hold = dict(row)
    hold["metadata"] = json.loads(hold["metadata"])
    return hold


async def hold_result(conn: Conn, hold_id: UUID, *, replayed: bool) -> HoldResult:
    hold = await fetch_hold(conn, hold_id)
    assert hold is not None
    return HoldResult(
        hold_id=hold["id"],
        status=hold["status"],
        debit_account_id=hold["debit_account_id"],
        credit_account_id=hold["credit_account_id"],
        amount=hold["amount"],
        currency=hold["currency"],
        expires_at=hold["expires_at"],
        replayed=replayed,
    )


async def command_by_key(conn: Conn, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT key, kind, entry_id, hold_id, account_id, created_at FROM ledger_commands WHERE key = $1",
        key,
    )


async def due_hold_ids(conn: Conn, now: datetime, limit: int) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM ledger_holds WHERE status = 'pending' AND expires_at <= $1
           ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return [r[0] for r in rows]
