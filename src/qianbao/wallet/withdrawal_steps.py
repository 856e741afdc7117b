"""The steps of a withdrawal's life that both the request/review side (``withdraw``) and the
payout side (``payouts``) take: the timeline event, locking a withdrawal, approving it (which
emits the event the payout job listens to), and finishing it (status, wallet row, timeline,
notification) — with voiding both holds when it ends without paying out."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.kernel.clock import clock_of
from qianbao.kernel.outbox import emit
from qianbao.ledger import Ledger, VoidHold
from qianbao.wallet.errors import WithdrawalNotFound
from qianbao.wallet.models import WalletTransaction, Withdrawal, WithdrawalEvent

NOTIFY_TOPIC = "wallet.transaction_updated"
SUBMIT_TOPIC = "wallet.withdrawal_approved"


async def add_event(
    session: Any,
    withdrawal: Withdrawal,
    status: str,
    *,
    note: str | None = None,
    actor: uuid.UUID | None = None,
) -> None:
    session.add(
        WithdrawalEvent(
            withdrawal_id=withdrawal.id,
            status=status,
            note=note,
            actor_id=actor,
            created_at=clock_of(session).now(),
        )
    )
    await session.flush()


async def approve_now(session: Any, withdrawal: Withdrawal, *, actor: uuid.UUID | None) -> None:
    withdrawal.status = "approved"
    withdrawal.updated_at = clock_of(session).now()
    await add_event(session, withdrawal, "approved", actor=actor)
    await emit(session, SUBMIT_TOPIC, {"withdrawal_id": str(withdrawal.id)})


async def locked(session: Any, withdrawal_id: str | uuid.UUID) -> Withdrawal:
    try:
        ident = uuid.UUID(str(withdrawal_id))
    except ValueError:
        raise WithdrawalNotFound() from None
    withdrawal = await session.get(Withdrawal, ident, with_for_update=True)
    if withdrawal is None:
        raise WithdrawalNotFound()
    return withdrawal


async def release(
    session: Any, withdrawal: Withdrawal, status: str, reason: str, actor: uuid.UUID | None
) -> None:
    """Void both holds: nothing leaves the wallet, the fee is not charged."""
    ledger = await Ledger.of_session(session)
    await ledger.hold(
        VoidHold(f"withdrawal:{withdrawal.id}:void", withdrawal.amount_hold_id, reason=status)
    )
    if withdrawal.fee_hold_id is not None:
        await ledger.hold(
            VoidHold(f"withdrawal:{withdrawal.id}:void-fee", withdrawal.fee_hold_id, reason=status)
        )
    await finish(session, withdrawal, status, "failed", reason=reason, actor=actor)


async def finish(
    session: Any,
    withdrawal: Withdrawal,
    status: str,
    row_status: str,
    *,
    reason: str | None = None,
    actor: uuid.UUID | None = None,
    balance_after: int | None = None,
) -> None:
    withdrawal.status = status
    withdrawal.updated_at = clock_of(session).now()
    row = await session.get(WalletTransaction, withdrawal.transaction_id, with_for_update=True)
    row.status = row_status
    if balance_after is not None:
        # The money left the ledger now: the row moves to this moment in the history, where
        # its balance follows from the rows before it (issue 13, defect 8).
        row.balance_after = balance_after
        row.listed_at = clock_of(session).now()
    if reason:
        row.details = {**row.details, "reason": reason}
    await add_event(session, withdrawal, status, note=reason, actor=actor)
    await emit(
        session,
        NOTIFY_TOPIC,
        {"transaction_id": str(row.id), "template": f"wallet.withdrawal_{status}"},
    )
