"""What `make chaos` checks, after each restart and at the end, from the database (one
REPEATABLE READ snapshot) and the development outboxes (SMS file, payout file).

Per recorded request (looked up by its idempotency key):
- acknowledged (2xx) → in the ledger exactly once, with the amount that was asked for;
- refused (4xx) → absent;
- unacknowledged → all or nothing: every row of the write there, or none;
- nothing twice (a top-up credited once, a transfer's two wallet rows, one event).
Globally: the ledger invariants (each entry sums to zero, Σ balances per currency = 0, each
account's stored balance = Σ of its postings, pending totals = Σ of pending holds, no negative
balance where forbidden), and no more entries of a kind than requests that made them.
At the end, after the queue drained: every job done (none dead or left), every confirmed top-up
settled, every withdrawal paid out with its holds posted (no hold left pending), each user's
balance = what the client's writes add up to, and every notification delivered exactly once
(each transfer's SMS to both parties, each top-up's and payout's SMS)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.chaos_load import Op, User

CATEGORIES = ("lost", "duplicated", "half_done", "stuck", "invariant")


@dataclass
class Findings:
    """Violations by category, with a line of evidence each (the first few are printed)."""

    items: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})

    def add(self, category: str, what: str) -> None:
        self.items[category].append(what)

    def count(self, category: str) -> int:
        return len(self.items[category])

    def merge(self, other: Findings) -> None:
        for category, found in other.items.items():
            for what in found:
                if what not in self.items[category]:
                    self.items[category].append(what)

    def total(self) -> int:
        return sum(len(v) for v in self.items.values())


# -- per request --------------------------------------------------------------------------------
TRANSFERS = """
SELECT c.key, c.entry_id,
       (SELECT count(*) FROM ledger_entries e WHERE e.id = c.entry_id) AS entries,
       (SELECT count(*) FROM ledger_postings p WHERE p.entry_id = c.entry_id) AS postings,
       (SELECT coalesce(max(p.amount), 0) FROM ledger_postings p WHERE p.entry_id = c.entry_id)
         AS amount,
       (SELECT count(*) FROM wallet_transactions w WHERE w.entry_id = c.entry_id) AS rows,
       (SELECT min(w.reference) FROM wallet_transactions w
         WHERE w.entry_id = c.entry_id AND w.direction = 'out') AS reference
  FROM ledger_commands c WHERE c.key = ANY($1::text[])
"""
TRANSFER_EVENTS = """
SELECT payload->>'reference' AS reference, count(*) AS n FROM outbox_messages
 WHERE topic = 'wallet.transfer_completed' AND payload->>'reference' = ANY($1::text[])
 GROUP BY 1
"""
TOPUPS = """
SELECT t.idempotency_key AS key, t.id, t.status, t.failure, t.amount, t.provider_ref,
       w.status AS row_status, w.reference,
       (SELECT count(*) FROM wallet_transactions x WHERE x.id = t.transaction_id) AS rows,
       (SELECT count(*) FROM sandbox_card_payments s WHERE s.reference = t.id::text) AS payments,
       (SELECT max(s.confirmed_at) IS NOT NULL FROM sandbox_card_payments s
         WHERE s.reference = t.id::text) AS confirmed,
       (SELECT count(*) FROM ledger_entries e WHERE e.metadata->>'topup' = t.id::text) AS entries
  FROM wallet_topups t LEFT JOIN wallet_transactions w ON w.id = t.transaction_id
 WHERE t.idempotency_key = ANY($1::text[])
"""
WITHDRAWALS = """
SELECT d.idempotency_key AS key, d.id, d.status, d.amount, d.fee, w.status AS row_status,
       w.reference, d.fee_hold_id IS NOT NULL AS has_fee_hold,
       (SELECT count(*) FROM wallet_transactions x WHERE x.id = d.transaction_id) AS rows,
       (SELECT h.status FROM ledger_holds h WHERE h.id = d.amount_hold_id) AS amount_hold,
       (SELECT h.status FROM ledger_holds h WHERE h.id = d.fee_hold_id) AS fee_hold,
       (SELECT count(*) FROM ledger_entries e WHERE e.hold_id IN (d.amount_hold_id, d.fee_hold_id))
         AS entries,
       (SELECT count(*) FROM dev_payouts p WHERE p.reference = d.id::text) AS payouts
  FROM wallet_withdrawals d LEFT JOIN wallet_transactions w ON w.id = d.transaction_id
 WHERE d.idempotency_key = ANY($1::text[])
"""
# A withdrawal's status → (its wallet row's status, its holds' status, posted entries per hold).
WITHDRAWAL_STATES = {
    "in_review": ("pending", "pending", 0),
    "approved": ("pending", "pending", 0),
    "submitted": ("pending", "pending", 0),
    "settled": ("completed", "posted", 1),
    "failed": ("failed", "voided", 0),
    "rejected": ("failed", "voided", 0),
}
TOPUP_ROW = {"pending": "pending", "succeeded": "completed", "failed": "failed"}


def transfer_key(users: list[User], op: Op) -> str:
    return f"p2p:{users[op.user].user_id}:{op.key}"


@dataclass
class Seen:
    """What the database holds for the recorded requests (for the end's reconciliation)."""

    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)  # op key → row
    topups: dict[str, dict[str, Any]] = field(default_factory=dict)
    withdrawals: dict[str, dict[str, Any]] = field(default_factory=dict)


def _judge(found: Findings, op: Op, present: bool, complete: bool, what: str) -> None:
    label = f"{op.kind} {op.key} ({op.state}, attempts {op.attempts})"
    if op.state == "acked" and not present:
        found.add("lost", f"{label}: acknowledged but not in the database")
    elif op.state == "refused" and present:
        found.add("half_done", f"{label}: refused with a 4xx but applied: {what}")
    elif present and not complete:
        found.add("half_done", f"{label}: {what}")


async def check_requests(
    conn: asyncpg.Connection, users: list[User], ops: list[Op], found: Findings
) -> Seen:
    seen = Seen()
    done = [op for op in ops if op.state != "inflight"]
    transfers = [op for op in done if op.kind == "transfer"]
    by_key = {
        r["key"]: dict(r)
        for r in await conn.fetch(TRANSFERS, [transfer_key(users, op) for op in transfers])
    }
    refs = [r["reference"] for r in by_key.values() if r["reference"]]
    events = {r["reference"]: r["n"] for r in await conn.fetch(TRANSFER_EVENTS, refs)}
    for op in transfers:
        row = by_key.get(transfer_key(users, op))
        if row is None:
            _judge(found, op, False, False, "")
            continue
        row["events"] = events.get(row["reference"], 0)
        seen.transfers[op.key] = row
        if row["rows"] > 2 or row["events"] > 1:
            found.add("duplicated", f"transfer {op.key}: {row}")
        complete = (
            row["entries"] == 1
            and row["postings"] == 2
            and row["amount"] == op.minor
            and row["rows"] == 2
            and row["events"] == 1
        )
        if op.state == "acked" and op.result and op.result.get("reference") != row["reference"]:
            found.add("half_done", f"transfer {op.key}: answered {op.result} but stored {row}")
        _judge(found, op, True, complete, str(row))

    for kind, query, store in (
        ("topup", TOPUPS, seen.topups),
        ("withdrawal", WITHDRAWALS, seen.withdrawals),
    ):
        mine = [op for op in done if op.kind == kind]
        rows = {r["key"]: dict(r) for r in await conn.fetch(query, [op.key for op in mine])}
        for op in mine:
            row = rows.get(op.key)
            if row is None:
                _judge(found, op, False, False, "")
                continue
            store[op.key] = row
            if op.state == "acked" and op.result and op.result.get("id") != str(row["id"]):
                found.add("half_done", f"{kind} {op.key}: answered {op.result} but stored {row}")
            if kind == "topup":
                credited = row["status"] == "succeeded" or row["failure"] == "account_frozen"
                if row["entries"] > 1:
                    found.add("duplicated", f"top-up {op.key} credited {row['entries']} times")
                complete = (
                    row["rows"] == 1
                    and row["payments"] == 1
                    and row["provider_ref"] is not None
                    and row["amount"] == op.minor
                    and row["row_status"] == TOPUP_ROW.get(row["status"])
                    and row["entries"] == (1 if credited else 0)
                )
            else:
                expected = WITHDRAWAL_STATES.get(row["status"])
                holds = 2 if row["has_fee_hold"] else 1
                if row["entries"] > holds or row["payouts"] > 1:
                    found.add("duplicated", f"withdrawal {op.key}: {row}")
                complete = (
                    expected is not None
                    and row["rows"] == 1
                    and row["amount"] == op.minor
                    and row["row_status"] == expected[0]
                    and row["amount_hold"] == expected[1]
                    and (not row["has_fee_hold"] or row["fee_hold"] == expected[1])
                    and row["entries"] == expected[2] * holds
                )
            _judge(found, op, True, complete, str(row))
    return seen


# -- the ledger ---------------------------------------------------------------------------------
INVARIANTS = {
    "an entry does not sum to zero per currency": """
        SELECT count(*) FROM (SELECT entry_id, currency FROM ledger_postings
         GROUP BY entry_id, currency HAVING sum(amount) <> 0) x""",
    "posted balances do not sum to zero per currency": """
        SELECT count(*) FROM (SELECT currency FROM ledger_accounts GROUP BY currency
         HAVING sum(posted) <> 0 OR sum(pending_out) <> sum(pending_in)) x""",
    "an account's balance is not the sum of its postings": """
        SELECT count(*) FROM ledger_accounts a WHERE a.posted <>
          coalesce((SELECT sum(amount) FROM ledger_postings p WHERE p.account_id = a.id), 0)""",
    "an account's last balance_after is not its balance": """
        SELECT count(*) FROM ledger_accounts a WHERE a.posted <> coalesce(
          (SELECT balance_after FROM ledger_postings p WHERE p.account_id = a.id
            ORDER BY id DESC LIMIT 1), 0)""",
    "an account's pending totals are not the sum of its pending holds": """
        SELECT count(*) FROM ledger_accounts a WHERE
             a.pending_out <> coalesce((SELECT sum(amount) FROM ledger_holds h
               WHERE h.debit_account_id = a.id AND h.status = 'pending'), 0)
          OR a.pending_in <> coalesce((SELECT sum(amount) FROM ledger_holds h
               WHERE h.credit_account_id = a.id AND h.status = 'pending'), 0)""",
    "an account that may not go negative is negative": """
        SELECT count(*) FROM ledger_accounts WHERE no_negative AND posted - pending_out < 0""",
    "a top-up was credited more than once": """
        SELECT count(*) FROM (SELECT metadata->>'topup' FROM ledger_entries
         WHERE metadata ? 'topup' GROUP BY 1 HAVING count(*) > 1) x""",
    "a succeeded top-up has no credit": """
        SELECT count(*) FROM wallet_topups t WHERE t.status = 'succeeded' AND NOT EXISTS
          (SELECT 1 FROM ledger_entries e WHERE e.metadata->>'topup' = t.id::text)""",
}


async def check_ledger(conn: asyncpg.Connection, found: Findings) -> None:
    for what, query in INVARIANTS.items():
        n = await conn.fetchval(query)
        if n:
            category = "duplicated" if "more than once" in what else "invariant"
            found.add(category, f"{what}: {n}")


async def check_totals(conn: asyncpg.Connection, ops: list[Op], seen: Seen, f: Findings) -> None:
    """No more transfer entries than transfers the client made (nothing applied twice under
    another key), and each user's balance is what the requests that happened add up to."""
    entries = await conn.fetchval(
        "SELECT count(*) FROM ledger_entries WHERE entry_type = 'p2p_transfer'"
    )
    if entries != len(seen.transfers):
        f.add("duplicated", f"{entries} transfer entries for {len(seen.transfers)} transfers")


async def check_balances(
    conn: asyncpg.Connection, users: list[User], ops: list[Op], seen: Seen, f: Findings
) -> None:
    expected = {u.user_id: 0 for u in users}
    pending = {u.user_id: 0 for u in users}
    for op in ops:
        if op.kind == "transfer" and op.key in seen.transfers:
            expected[users[op.user].user_id] -= op.minor
            assert op.to_user is not None
            expected[users[op.to_user].user_id] += op.minor
    rows = await conn.fetch(
        """SELECT user_id::text AS user_id, amount, fee, status FROM wallet_withdrawals
           UNION ALL
           SELECT user_id::text, amount, 0, 'topup-' || status FROM wallet_topups"""
    )
    for r in rows:
        if r["user_id"] not in expected:
            continue
        if r["status"] == "settled":
            expected[r["user_id"]] -= r["amount"] + r["fee"]
        elif r["status"] in ("in_review", "approved", "submitted"):
            pending[r["user_id"]] += r["amount"] + r["fee"]
        elif r["status"] == "topup-succeeded":
            expected[r["user_id"]] += r["amount"]
    accounts = await conn.fetch(
        """SELECT owner_id::text AS user_id, posted, pending_out FROM ledger_accounts
           WHERE kind = 'user_wallet' AND currency = 'CNY' AND owner_id::text = ANY($1::text[])""",
        list(expected),
    )
    for a in accounts:
        uid = a["user_id"]
        if a["posted"] != expected[uid] or a["pending_out"] != pending[uid]:
            f.add(
                "lost" if a["posted"] < expected[uid] else "duplicated",
                f"user {uid}: balance {a['posted']} (on hold {a['pending_out']}), the requests "
                f"add up to {expected[uid]} (on hold {pending[uid]})",
            )


# -- jobs and outside effects -------------------------------------------------------------------
DRAIN = """
SELECT (SELECT count(*) FROM outbox_messages WHERE relayed_at IS NULL) AS unrelayed,
       (SELECT count(*) FROM jobs WHERE status = 'queued') AS queued,
       (SELECT count(*) FROM wallet_topups t JOIN sandbox_card_payments s
          ON s.reference = t.id::text
         WHERE t.status = 'pending' AND s.confirmed_at IS NOT NULL) AS confirmed_pending,
       (SELECT count(*) FROM wallet_withdrawals
         WHERE status IN ('approved', 'submitted')) AS withdrawals_in_flight
"""
NOTIFICATIONS = """
SELECT m.id, m.payload->>'nid' AS nid, m.payload->>'to' AS "to",
       m.payload->>'template' AS template, m.payload->'params'->>'reference' AS reference,
       j.id AS job_id, j.status AS job_status, m.relayed_at IS NOT NULL AS relayed
  FROM outbox_messages m
  LEFT JOIN jobs j ON j.dedup_key = 'outbox:' || m.id || ':notifications.deliver'
 WHERE m.topic = 'notifications.requested' AND m.payload->>'channel' = 'sms'
"""


async def outstanding(conn: asyncpg.Connection) -> dict[str, int]:
    return dict(await conn.fetchrow(DRAIN))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line torn by a kill
    return out


def check_outbox_files(sms_path: Path, payouts_path: Path, found: Findings) -> list[dict]:
    """Nothing delivered twice: each SMS record id once, each payout instruction once."""
    sms = read_jsonl(sms_path)
    for key, n in Counter(m.get("id") for m in sms).items():
        if n > 1:
            found.add("duplicated", f"SMS {key} delivered {n} times")
    for ref, n in Counter(p.get("reference") for p in read_jsonl(payouts_path)).items():
        if n > 1:
            found.add("duplicated", f"payout for withdrawal {ref} instructed {n} times")
    return sms


async def check_final(
    conn: asyncpg.Connection,
    users: list[User],
    ops: list[Op],
    seen: Seen,
    sms: list[dict[str, Any]],
    found: Findings,
) -> None:
    """After the drain: every job ran, everything in flight finished, every message once."""
    left = await outstanding(conn)
    for what, n in left.items():
        if n:
            found.add("stuck", f"{n} {what.replace('_', ' ')} after the drain")
    dead = await conn.fetch("SELECT id, task, last_error FROM jobs WHERE status = 'dead'")
    for job in dead:
        found.add("stuck", f"job {job['id']} {job['task']} dead: {job['last_error']}")
    holds = await conn.fetchval("SELECT count(*) FROM ledger_holds WHERE status = 'pending'")
    if holds:
        found.add("stuck", f"{holds} holds still pending after the drain")
    for op in ops:
        topup = seen.topups.get(op.key, {})
        if op.kind == "topup" and op.confirmed and topup.get("status") in (None, "pending"):
            found.add("stuck", f"top-up {op.key} confirmed but never settled")
        withdrawal = seen.withdrawals.get(op.key)
        if op.kind == "withdrawal" and withdrawal and withdrawal["status"] != "settled":
            found.add("stuck", f"withdrawal {op.key}: {withdrawal}")

    # Every requested SMS delivered exactly once (its record id is job-<job id>-<nid>).
    delivered = Counter(m.get("id") for m in sms)
    messages = [dict(r) for r in await conn.fetch(NOTIFICATIONS)]
    for m in messages:
        if m["job_status"] != "done":
            found.add("stuck", f"SMS message {m['id']} ({m['template']}): job {m['job_status']}")
        elif delivered[f"job-{m['job_id']}-{m['nid']}"] != 1:
            n = delivered[f"job-{m['job_id']}-{m['nid']}"]
            found.add("lost" if n == 0 else "duplicated", f"SMS {m['id']} delivered {n} times")
    # Each money movement asked for its SMS exactly once, to the right person.
    asked = Counter((m["template"], m["reference"], m["to"]) for m in messages)
    wanted: list[tuple[str, str, str]] = []
    for op in ops:
        phone = users[op.user].e164
        if op.kind == "transfer" and op.key in seen.transfers:
            ref = seen.transfers[op.key]["reference"]
            assert op.to_user is not None
            wanted.append(("wallet.money_out", ref, phone))
            wanted.append(("wallet.money_in", ref + "R", users[op.to_user].e164))
        elif op.kind == "topup" and seen.topups.get(op.key, {}).get("status") == "succeeded":
            wanted.append(("wallet.topup_succeeded", seen.topups[op.key]["reference"], phone))
        elif op.kind == "withdrawal" and op.key in seen.withdrawals:
            row = seen.withdrawals[op.key]
            if row["status"] == "settled":
                wanted.append(("wallet.withdrawal_settled", row["reference"], phone))
    for want in wanted:
        if asked[want] != 1:
            category = "lost" if asked[want] == 0 else "duplicated"
            found.add(category, f"{want[0]} for {want[1]} to {want[2]} asked {asked[want]} times")
    # And the text people got: each transfer's reference once to each party.
    texts = Counter()  # type: Counter[tuple[str, str]]
    for m in sms:
        text = str(m.get("text", ""))
        if "Reference " in text:
            ref = text.rsplit("Reference ", 1)[1].rstrip(".")
            texts[(ref, str(m.get("to")))] += 1
    for template, ref, phone in wanted:
        if template.startswith("wallet.money_") and texts[(ref, phone)] != 1:
            n = texts[(ref, phone)]
            found.add("lost" if n == 0 else "duplicated", f"SMS for {ref} to {phone}: {n}")
