"""Withdrawals on the payout side (B10): hand an approved withdrawal to the payout provider (a
job), and apply what the provider says later (a periodic job): settled → both holds posted;
failed → both voided (the fee is not charged); returned after settling → both entries reversed
(amount and fee credited again)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from qianbao.kernel.clock import clock_of
from qianbao.ledger import Ledger, PostHold, Reverse
from qianbao.rails import PayoutInstruction, PayoutProvider, PayoutStatus
from qianbao.wallet import cards
from qianbao.wallet.models import BankCard, WalletTransaction, Withdrawal
from qianbao.wallet.transfer import new_reference
from qianbao.wallet.withdrawal_steps import add_event, finish, locked, release


async def submit(session: Any, settings: Any, provider: PayoutProvider, withdrawal_id: str) -> None:
    """Hand an approved withdrawal to the payout provider (a job; safe to run twice)."""
    withdrawal = await locked(session, withdrawal_id)
    if withdrawal.status != "approved":
        return
    card = await session.get(BankCard, withdrawal.card_id)
    assert card is not None  # removed cards keep their row
    ref = await provider.submit(
        session,
        PayoutInstruction(
            reference=str(withdrawal.id),
            amount=withdrawal.amount,
            currency=withdrawal.currency,
            account_kind=card.kind,
            account_number=cards.reveal(settings, card),
            holder_name=card.holder_name,
            bank_name=card.bank_name,
        ),
    )
    withdrawal.provider, withdrawal.provider_ref = provider.name, ref
    withdrawal.status = "submitted"
    withdrawal.updated_at = clock_of(session).now()
    await add_event(session, withdrawal, "submitted")


async def poll(session: Any, provider: PayoutProvider, *, limit: int = 200) -> int:
    """Ask the provider about submitted (and recently settled) payouts; apply what changed."""
    recent = clock_of(session).now() - timedelta(days=30)
    rows = (
        await session.execute(
            select(Withdrawal)
            .where(
                Withdrawal.provider == provider.name,
                (Withdrawal.status == "submitted")
                | ((Withdrawal.status == "settled") & (Withdrawal.updated_at > recent)),
            )
            .order_by(Withdrawal.updated_at)
            .with_for_update(skip_locked=True)
            .limit(limit)
        )
    ).scalars()
    changed = 0
    for withdrawal in list(rows):
        assert withdrawal.provider_ref is not None
        changed += await apply_payout_status(
            session, withdrawal, await provider.status(session, withdrawal.provider_ref)
        )
    return changed


async def apply_payout_status(session: Any, withdrawal: Withdrawal, news: PayoutStatus) -> int:
    """Move a submitted or settled withdrawal on by what the provider says; returns the number
    of steps taken (0, 1 or 2: settled and returned at once)."""
    steps = 0
    if withdrawal.status == "submitted" and news.state in ("settled", "returned"):
        await _settle(session, withdrawal)
        steps += 1
    elif withdrawal.status == "submitted" and news.state == "failed":
        await release(session, withdrawal, "failed", news.reason or "", None)
        steps += 1
    if withdrawal.status == "settled" and news.state == "returned":
        await _return(session, withdrawal, news.reason or "")
        steps += 1
    return steps


async def _settle(session: Any, withdrawal: Withdrawal) -> None:
    ledger = await Ledger.of_session(session)
    entry = await ledger.post(
        PostHold(f"withdrawal:{withdrawal.id}:settle", withdrawal.amount_hold_id)
    )
    withdrawal.amount_entry_id = entry.entry_id
    balances = [p.balance_after for p in entry.postings if p.amount < 0]
    if withdrawal.fee_hold_id is not None:
        fee_entry = await ledger.post(
            PostHold(f"withdrawal:{withdrawal.id}:settle-fee", withdrawal.fee_hold_id)
        )
        withdrawal.fee_entry_id = fee_entry.entry_id
        balances = [p.balance_after for p in fee_entry.postings if p.amount < 0]
    await finish(session, withdrawal, "settled", "completed", balance_after=balances[0])


async def _return(session: Any, withdrawal: Withdrawal, reason: str) -> None:
    """The bank sent the money back after settling: reverse both entries (the fee too)."""
    ledger = await Ledger.of_session(session)
    assert withdrawal.amount_entry_id is not None
    back = await ledger.post(
        Reverse(f"withdrawal:{withdrawal.id}:return", withdrawal.amount_entry_id)
    )
    last = back
    if withdrawal.fee_entry_id is not None:
        last = await ledger.post(
            Reverse(f"withdrawal:{withdrawal.id}:return-fee", withdrawal.fee_entry_id)
        )
    original = await session.get(WalletTransaction, withdrawal.transaction_id)
    await finish(session, withdrawal, "returned", "reversed", reason=reason)
    # The money coming back is a row of its own, listed now, so the history's balances keep
    # following each other (the settled row stays where the money left; issue 13, defect 8).
    now = clock_of(session).now()
    session.add(
        WalletTransaction(
            user_id=withdrawal.user_id,
            account_id=original.account_id,
            kind="withdrawal",
            direction="in",
            status="completed",
            currency=withdrawal.currency,
            amount=withdrawal.amount + withdrawal.fee,
            balance_after=next(p.balance_after for p in last.postings if p.amount > 0),
            reference=new_reference(now),
            entry_id=back.entry_id,
            details={
                **{k: v for k, v in original.details.items() if k in ("card", "bank")},
                "returned_withdrawal_id": str(withdrawal.id),
                "reason": reason,
                "fee_back": withdrawal.fee,
            },
            created_at=now,
            listed_at=now,
        )
    )
    await session.flush()


async def apply_provider_news(
    session: Any, provider: str, provider_ref: str, news: PayoutStatus
) -> int:
    """What the payout provider's bank said about one payout (a status report, a statement
    line), applied at once instead of at the next poll. Returns the steps taken."""
    withdrawal = (
        await session.execute(
            select(Withdrawal)
            .where(Withdrawal.provider == provider, Withdrawal.provider_ref == provider_ref)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if withdrawal is None:
        return 0
    return await apply_payout_status(session, withdrawal, news)
