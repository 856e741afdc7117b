"""An operator's review of the withdrawals above the review threshold (or held by the risk
rules): the list waiting, approve, reject with the reason the user reads."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from qianbao.identity.context import IdentityContext
from qianbao.kernel.clock import clock_of
from qianbao.wallet import withdraw
from qianbao.wallet import withdrawal_steps as steps
from qianbao.wallet.errors import ReasonRequired, WithdrawalNotReviewable
from qianbao.wallet.models import Withdrawal


async def list_by_status(
    session: Any, statuses: tuple[str, ...], limit: int = 100
) -> list[Withdrawal]:
    rows = await session.execute(
        select(Withdrawal)
        .where(Withdrawal.status.in_(statuses))
        .order_by(Withdrawal.created_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def approve(
    session: Any, ctx: IdentityContext, withdrawal_id: str, *, actor: uuid.UUID | None
) -> Withdrawal:
    """Approve: the money goes to the bank now, so the arrival date is counted again from now
    (the one shown at the request did not know how long the review would take)."""
    withdrawal = await steps.locked(session, withdrawal_id)
    if withdrawal.status != "in_review":
        raise WithdrawalNotReviewable()
    counted = await withdraw.expected_on(session, ctx, withdrawal.method, clock_of(session).now())
    withdrawal.expected_on = max(withdrawal.expected_on, counted)
    await steps.approve_now(session, withdrawal, actor=actor)
    return withdrawal


async def reject(
    session: Any, withdrawal_id: str, *, actor: uuid.UUID | None, reason: str
) -> Withdrawal:
    reason = " ".join((reason or "").split())[:300]
    if len(reason) < 5:
        raise ReasonRequired()
    withdrawal = await steps.locked(session, withdrawal_id)
    if withdrawal.status != "in_review":
        raise WithdrawalNotReviewable()
    await steps.release(session, withdrawal, "rejected", reason, actor)
    return withdrawal
