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
from qianbao.rails.bank_file_payouts import reason_for
from qianbao.rails.bankfiles.model import StatementEntry
from qianbao.rails.models import BankPayout
from qianbao.rails.payouts import PayoutStatus
from qianbao.wallet.payouts import apply_provider_news

SENT = ("released", "accepted", "settled")


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
