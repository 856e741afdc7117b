"""The data set of ``bench_history`` (issue 17, "history at scale"): 100,000 users with their
wallet accounts and 5,000,000 transfers between them over twelve months — 5,000,000 ledger
entries, 10,000,000 postings and 10,000,000 wallet rows (the sender's "out" and the recipient's
"in", the columns ``wallet.transfer`` writes) — generated in time order, in chunks, keeping
every account's running balance (``bench/history_load.py`` COPYs them).

Who sends and receives is skewed (a user's weight is 1 / (rank + 10)): the busiest user has
about 107,000 rows, the tenth about 57,000, the hundredth about 10,000, the median user about
20. Each user is funded once, before the first transfer, by an "opening" entry from the equity
account (1,000 users an entry).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from qianbao.identity.phones import mask_name, mask_phone

USERS = 100_000
TRANSFERS = 5_000_000
DAYS = 365
CHUNK = 25_000  # transfers per chunk (~100,000 rows in memory at a time)
FUNDING = 10_000_000_000  # 100,000,000.00 CNY each: no one runs dry
FUND_BATCH = 1_000  # users per funding entry
SKEW = 10  # rank r is picked with weight 1 / (r + SKEW): the busiest user has ~108,000 rows
NOTES = ["午饭", "房租", "打车", "咖啡", "生日快乐", "AA 聚餐", "水电费", "还你的钱"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"]
BIG_TABLES = ("ledger_entries", "ledger_postings", "wallet_transactions")
TRIGGER_TABLES = ("ledger_entries", "ledger_postings", "ledger_accounts")
LOCAL_OFFSET_US = 8 * 3600 * 1_000_000  # China time: the reference's date, as the app writes it
PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 UTC, PostgreSQL's zero


def pg_time(at: datetime) -> tuple[int]:
    """``at`` as the loader's connections send a timestamptz: (microseconds since 2000-01-01,)."""
    return (int(at.timestamp() * 1_000_000) - PG_EPOCH_US,)


ENTRY_COLUMNS = ("id", "entry_type", "metadata", "effective_at", "created_at")
POSTING_COLUMNS = (
    "id",
    "entry_id",
    "account_id",
    "currency",
    "amount",
    "balance_after",
    "created_at",
)
WALLET_COLUMNS = (
    "id",
    "user_id",
    "account_id",
    "kind",
    "direction",
    "currency",
    "amount",
    "balance_after",
    "counterparty_user_id",
    "counterparty_name",
    "counterparty_phone",
    "note",
    "reference",
    "entry_id",
    "created_at",
    "listed_at",
)


@dataclass
class Chunk:
    entries: list[tuple] = field(default_factory=list)
    postings: list[tuple] = field(default_factory=list)
    wallet: list[tuple] = field(default_factory=list)


class DataSet:
    """Generates the rows, in time order, keeping every account's running balance."""

    def __init__(
        self, *, users: int, transfers: int, end: datetime, first_account_id: int, seed: int = 17
    ) -> None:
        self.users = users
        self.transfers = transfers
        self.end = end
        self.start = end - timedelta(days=DAYS)
        self.rng = random.Random(seed)
        self.first_account_id = first_account_id
        self._serial = 0  # the random part of every generated uuid7: unique
        self.posting_id = 0
        start_ms = int(self.start.timestamp() * 1000)
        self.user_ids = [self._uuid7(start_ms - 86_400_000 * 30) for _ in range(users)]
        self.phones = [f"+86138{i:08d}" for i in range(users)]
        self.names = [
            self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, self.rng.randint(1, 2)))
            for _ in range(users)
        ]
        self.masked_names = [mask_name(n) for n in self.names]
        self.masked_phones = [mask_phone(p) for p in self.phones]
        self.account_ids = [first_account_id + i for i in range(users)]
        self.balances = [0] * users
        self.counts = [0] * users
        # Skew: rank r has weight 1 / (r + 30); ranks are given to users at random.
        order = list(range(users))
        self.rng.shuffle(order)
        self.by_rank = order
        total = 0.0
        self.cum_weights: list[float] = []
        for rank in range(users):
            total += 1.0 / (rank + SKEW)
            self.cum_weights.append(total)
        self.rank_range = range(users)
        self.done = 0
        self.step_us = DAYS * 86_400_000_000 // max(transfers, 1)
        self._days: dict[int, str] = {}

    def _uuid7s(self, ms: int) -> str:
        """31 of the 32 hex digits of a fresh UUIDv7 at ``ms``: the caller adds the last one, so
        one call names up to 16 rows (an entry and its wallet rows)."""
        self._serial += 1
        n = self._serial
        return f"{ms:012x}7{(n >> 56) & 0xFFF:03x}8{n & 0xFFFFFFFFFFFFFF:014x}"

    def _uuid7(self, ms: int) -> str:
        h = self._uuid7s(ms) + "0"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def heavy_users(self, n: int) -> list[int]:
        """The indexes of the ``n`` busiest users."""
        return self.by_rank[:n]

    def funding(self, equity_account_id: int) -> Iterator[Chunk]:
        """The opening entries: 1,000 users each, a day before the first transfer."""
        when = self.start - timedelta(days=1)
        ms = int(when.timestamp() * 1000)
        at = pg_time(when)
        equity_balance = 0
        for first in range(0, self.users, FUND_BATCH):
            chunk = Chunk()
            members = range(first, min(first + FUND_BATCH, self.users))
            entry_id = self._uuid7(ms)
            chunk.entries.append((entry_id, "funding", "{}", at, at))
            equity_balance -= FUNDING * len(members)
            self.posting_id += 1
            chunk.postings.append(
                (
                    self.posting_id,
                    entry_id,
                    equity_account_id,
                    "CNY",
                    -FUNDING * len(members),
                    equity_balance,
                    at,
                )
            )
            for u in members:
                self.posting_id += 1
                self.balances[u] += FUNDING
                self.counts[u] += 1
                chunk.postings.append(
                    (
                        self.posting_id,
                        entry_id,
                        self.account_ids[u],
                        "CNY",
                        FUNDING,
                        self.balances[u],
                        at,
                    )
                )
            yield chunk

    def next_chunk(self) -> Chunk | None:
        """The next ``CHUNK`` transfers (entries, postings, both parties' wallet rows)."""
        if self.done >= self.transfers:
            return None
        n = min(CHUNK, self.transfers - self.done)
        rng = self.rng
        random_ = rng.random
        senders = rng.choices(self.rank_range, cum_weights=self.cum_weights, k=n)
        recipients = rng.choices(self.rank_range, cum_weights=self.cum_weights, k=n)
        by_rank, ids, accounts = self.by_rank, self.user_ids, self.account_ids
        names, phones, balances = self.masked_names, self.masked_phones, self.balances
        start_ms, step = int(self.start.timestamp() * 1000), self.step_us
        start_us = int(self.start.timestamp() * 1_000_000)
        start_pg = start_us - PG_EPOCH_US
        chunk = Chunk()
        entries, postings, wallet = chunk.entries, chunk.postings, chunk.wallet
        pid = self.posting_id
        for k in range(n):
            i = self.done + k
            s, r = by_rank[senders[k]], by_rank[recipients[k]]
            if s == r:
                r = by_rank[(recipients[k] + 1) % self.users]
            us = i * step + int(step * random_())
            at = (start_pg + us,)
            amount = int(10 ** (2 + 4 * random_()))
            note = NOTES[k % len(NOTES)] if random_() < 0.1 else None
            base = self._uuid7s(start_ms + us // 1000)
            entry_id = base + "0"
            sid, rid = ids[s], ids[r]
            entries.append(
                (
                    entry_id,
                    "p2p_transfer",
                    f'{{"from_user": "{sid}", "to_user": "{rid}", "note": "{note or ""}"}}',
                    at,
                    at,
                )
            )
            balances[s] -= amount
            balances[r] += amount
            sb, rb = balances[s], balances[r]
            postings.append((pid + 1, entry_id, accounts[s], "CNY", -amount, sb, at))
            postings.append((pid + 2, entry_id, accounts[r], "CNY", amount, rb, at))
            pid += 2
            day = (start_us + us + LOCAL_OFFSET_US) // 86_400_000_000
            prefix = self._days.get(day)
            if prefix is None:
                local = date(1970, 1, 1) + timedelta(days=day)
                prefix = self._days[day] = local.strftime("%Y%m%d")
            reference = f"{prefix}{(i * 2_654_435_761) % 10**10:010d}"
            wallet.append(
                (
                    base + "1",
                    sid,
                    accounts[s],
                    "transfer",
                    "out",
                    "CNY",
                    amount,
                    sb,
                    rid,
                    names[r],
                    phones[r],
                    note,
                    reference,
                    entry_id,
                    at,
                    at,
                )
            )
            wallet.append(
                (
                    base + "2",
                    rid,
                    accounts[r],
                    "transfer",
                    "in",
                    "CNY",
                    amount,
                    rb,
                    sid,
                    names[s],
                    phones[s],
                    note,
                    reference + "R",
                    entry_id,
                    at,
                    at,
                )
            )
            self.counts[s] += 1
            self.counts[r] += 1
        self.posting_id = pid
        self.done += n
        return chunk
