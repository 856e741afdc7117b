"""Fault injection, short: `make chaos` (bench/chaos.py) with 3 kill -9 of the web process and 1
of the PostgreSQL postmaster under a short load of transfers, top-ups and withdrawals — nothing
acknowledged is lost, nothing is done twice, nothing is left half done or stuck, the ledger's
invariants hold. Runs its own throwaway PostgreSQL and `qianbao serve` processes.

The outcome depends on what the service does, not on how fast: the kill moments only decide
which requests are in flight, and every check is about the state once the queue has drained.
Also the regression test of what chaos found: a payout instruction written twice."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from bench.chaos import ChaosConfig, run_async
from sqlalchemy.ext.asyncio import AsyncSession

from qianbao.rails.dev_payouts import FilePayouts
from qianbao.rails.payouts import PayoutInstruction


async def test_kills_lose_nothing_and_do_nothing_twice():
    config = ChaosConfig(
        web_kills=3,
        pg_kills=1,
        seed=20261204,
        users=4,
        workers=3,
        min_gap_s=0.5,
        max_gap_s=2.0,
        opening="5000.00",
    )
    result = await run_async(config)
    details = {k: v[:5] for k, v in result.findings.items.items() if v}
    assert result.counts["web_kills"] == 3
    assert result.counts["pg_kills"] == 1
    assert result.counts["acknowledged"] > 0
    assert result.lost == 0, details
    assert result.duplicated == 0, details
    assert result.ok, details


async def test_a_payout_submitted_again_after_a_crash_is_one_instruction(
    session: AsyncSession, tmp_path: Path
):
    """The submitting job wrote the instruction, then died before its commit: it runs again,
    and the bank still gets one instruction, with the same payout id."""
    outbox = tmp_path / "payouts.jsonl"
    payouts = FilePayouts(outbox, settle_after_s=0)
    instruction = PayoutInstruction(
        reference=str(uuid.uuid4()),
        amount=547,
        currency="CNY",
        account_kind="card",
        account_number="6222020000000004242",
        holder_name="王小明",
        bank_name="Industrial and Commercial Bank of China",
    )
    crashed = await session.begin_nested()
    first = await payouts.submit(session, instruction)
    await crashed.rollback()  # the job's transaction never committed

    second = await payouts.submit(session, instruction)
    again = await payouts.submit(session, instruction)  # and a plain replay changes nothing

    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [line["reference"] for line in lines] == [instruction.reference]
    assert lines[0]["payout"] == first == second == again
