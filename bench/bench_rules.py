"""Issue 15: what the real-time risk rules cost a transfer. The same transfers go to two servers on
the same database — one with the rules switched off (``http_transfer_tps``'s server), one with
every default rule on — in alternating rounds, each sender with a history of 1,000 earlier
transfers for the rules to read. Target: the rules cost at most 10 %.

The velocity rule stays on and is evaluated for every transfer, but its threshold is raised: the
closed loop makes each of its 200 senders send hundreds of transfers in ten minutes, which a real
customer does not (and the rule would rightly ask them all for a code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.common import BenchContext, emit

HISTORY = 1_000  # earlier transfers per sender

# 1,000 completed transfers per bench user, to the other users in turn, 77 minutes apart (every
# hour of the day), all more than 35 days ago: the rules read them (usual amount, hours, payees),
# the limits of this month do not count them.
SEED_HISTORY = f"""
WITH u AS (
    SELECT id, row_number() OVER (ORDER BY phone) - 1 AS i FROM users WHERE phone LIKE '+86137%'
), ids AS (SELECT array_agg(id ORDER BY i) AS a, count(*)::int AS n FROM u)
INSERT INTO wallet_transactions (id, user_id, account_id, kind, direction, status, currency,
                                 amount, counterparty_user_id, reference, created_at, listed_at)
SELECT gen_random_uuid(), u.id, acc.id, 'transfer', 'out', 'completed', 'CNY',
       100 + (g * 37) % 5000, ids.a[((u.i + 1 + g % (ids.n - 1)) % ids.n) + 1],
       'H' || u.i || '-' || g,
       now() - interval '35 days' - g * interval '77 minutes',
       now() - interval '35 days' - g * interval '77 minutes'
  FROM u CROSS JOIN ids CROSS JOIN generate_series(1, {HISTORY}) AS g
  JOIN ledger_accounts acc ON acc.owner_id = u.id AND acc.kind = 'user_wallet'
                          AND acc.currency = 'CNY'
"""


async def seed_history(url: str) -> int:
    import asyncpg

    from qianbao.kernel.db import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        status = await conn.execute(SEED_HISTORY)
        await conn.execute("UPDATE risk_rules SET threshold = 1000000 WHERE code = 'velocity'")
        await conn.execute("ANALYZE wallet_transactions")
        return int(status.split()[-1])
    finally:
        await conn.close()


def compare(
    ctx: BenchContext,
    rounds: int,
    without: Callable[[], float],
    with_rules: Callable[[], float],
    check: Callable[[], Any],
) -> None:
    """Alternating rounds (the machine drifts): transfers with the rules off, then on."""
    off, on = [], []
    for _ in range(rounds):
        off.append(without())
        on.append(with_rules())
    check()
    base, ruled = sum(off) / rounds, sum(on) / rounds
    emit("http_transfer_tps_no_rules", base, "tps")
    emit("http_transfer_tps_rules", ruled, "tps")
    print(
        f"# ratio: http_transfer_tps_rules/http_transfer_tps_no_rules={ruled / base:.2f} "
        f"(target >= 0.9; {rounds} alternating rounds: without {', '.join(f'{r:.0f}' for r in off)}"
        f"; with {', '.join(f'{r:.0f}' for r in on)}): every default rule on, "
        f"{HISTORY} earlier transfers per sender",
        flush=True,
    )
