"""Statement lines about our own payouts (found by their end-to-end id): money out settles the
payout (if no status report did yet), money back returns it — the wallet's withdrawal moves on
in the same transaction (a return puts the amount and the fee back on the wallet, with the
reason). The line's own ledger entry moves the money between the payout clearing account and
the receiving account's mirror, so both stay equal to the bank's figures. A line naming no
payout of ours, or with another amount, goes to suspense."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from qianbao.banking import refunds
from qianbao.banking.models import ReceivingAccount
from qianbao.banking.posting import BankPoster
from qianbao.banking.rules import Decision
from qianbao.kernel.clock import clock_of
from qianbao.merchants import settlement
from qianbao.merchants.models_payments import Settlement
from qianbao.rails.bank_file_payouts import reason_for
from qianbao.rails.bankfiles.model import StatementEntry
from qianbao.rails.models import BankPayout
from qianbao.rails.payouts import PayoutStatus
from qianbao.wallet import payouts as withdrawals
from qianbao.wallet.models import Withdrawal

SENT = ("released", "accepted", "settled")


async def still_waiting(session: Any, payouts: list[BankPayout]) -> set[str]:
    """The end-to-end ids of ``payouts`` whose owner still waits for the bank: a withdrawal or a
    merchant's settlement ``submitted`` to this rail, or a refund of ours. Anything else — its
    owner finished another way (paid, failed, returned), or there is none — must never be sent."""
    wanted = [p.end_to_end_id for p in payouts]
    if not wanted:
        return set()
    found = {p.end_to_end_id for p in payouts if p.reference.startswith("refund:")}
    for model in (Withdrawal, Settlement):
        rows = await session.execute(
            select(model.provider_ref).where(
                model.provider == "bank_file",
                model.provider_ref.in_(wanted),
                model.status == "submitted",
            )
        )
        found.update(str(ref) for ref in rows.scalars())
    return found


async def apply_provider_news(session: Any, provider: str, e2e: str, news: PayoutStatus) -> int:
    """Tell whoever the payout is for — a withdrawal, or a merchant's settlement — what the bank
    said, at once (not at their next poll: a merchant's settlements are polled every ten
    minutes, and meanwhile the money would look paid out by the bank and not by the ledger)."""
    return await withdrawals.apply_provider_news(
        session, provider, e2e, news
    ) + await settlement.apply_provider_news(session, provider, e2e, news)


async def apply(
    session: Any,
    poster: BankPoster,
    account: ReceivingAccount,
    line_id: uuid.UUID,
    entry: StatementEntry,
    decision: Decision,
) -> tuple[str, str | None]:
    """(line status, suspense reason)."""
    payout = await session.scalar(
        select(BankPayout)
        .where(BankPayout.end_to_end_id == (decision.end_to_end_id or "").upper())
        .with_for_update()
    )
    if payout is None or payout.status not in (*SENT, "returned"):
        await poster.to_suspense(account, line_id, entry)
        return "suspense", "payout_unknown"
    if payout.amount != entry.amount or payout.currency != entry.currency:
        await poster.to_suspense(account, line_id, entry)
        return "suspense", "payout_amount"
    now = clock_of(session).now()
    await poster.payout_clearing(account, line_id, entry)
    if decision.action == "payout":
        if payout.status in ("released", "accepted"):
            payout.status, payout.updated_at = "settled", now
            await apply_provider_news(
                session, "bank_file", payout.end_to_end_id, PayoutStatus("settled")
            )
        return "paid_out", None
    if payout.status != "returned":
        payout.status, payout.updated_at = "returned", now
        payout.reason = reason_for(None, returned=True)
        if not await refunds.on_failure(session, payout):
            await apply_provider_news(
                session, "bank_file", payout.end_to_end_id, PayoutStatus("returned", payout.reason)
            )
    return "returned", None
