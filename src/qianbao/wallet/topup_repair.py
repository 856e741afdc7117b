"""A stuck top-up, for the support console: pending at the provider longer than it should be,
or expired while the customer says they were charged. Two ways out, both through the top-up's
own settling code (``topup.settle``, as a provider callback), so the wallet is credited at most
once whatever comes first — a callback, a re-query, a manual credit — under the ledger key
``topup:<id>``:

- ``provider_answer``: what the provider says when asked again (``CardAcquirer.query_payment``)
  is applied exactly as its callback would be (a late success after expiry credits, as today);
- ``credit_by_hand``: an approved manual credit (support.console.topups) settles the top-up as
  paid with its own amount and fee; a provider success arriving later finds it settled and
  changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from qianbao.kernel.clock import clock_of
from qianbao.rails import CardPaymentEvent
from qianbao.wallet import topup
from qianbao.wallet.errors import TopupNotFound
from qianbao.wallet.models import Topup, WalletTransaction

# A card or wallet payment normally settles within minutes; older than this and still pending,
# a top-up is shown to agents as stuck.
STUCK_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class StuckTopup:
    topup: Topup
    reference: str  # the transaction's 18-digit reference, as the customer sees it
    created_at: datetime
    stuck: bool  # pending too long, or expired (an agent may act)

    @property
    def actionable(self) -> bool:
        return can_act(self.topup)


def can_act(t: Topup) -> bool:
    """Pending, or expired (the customer may still have been charged)."""
    return t.status == "pending" or (t.status == "failed" and t.failure == "expired")


def _ident(topup_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return topup_id if isinstance(topup_id, uuid.UUID) else uuid.UUID(str(topup_id))
    except ValueError:
        raise TopupNotFound() from None


async def find(session: Any, topup_id: uuid.UUID | str, *, lock: bool = False) -> Topup:
    """Any customer's top-up (staff only: the console checks who asks)."""
    stmt = select(Topup).where(Topup.id == _ident(topup_id))
    if lock:  # read again under the lock: a callback may have settled it since
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise TopupNotFound()
    return found


async def reference_of(session: Any, t: Topup) -> str:
    row = await session.get(WalletTransaction, t.transaction_id)
    return row.reference if row is not None else "—"


async def of_customer(session: Any, user_id: uuid.UUID, *, limit: int = 10) -> list[StuckTopup]:
    """The customer's top-ups an agent may act on: pending or expired, newest first."""
    rows = await session.execute(
        select(Topup, WalletTransaction.reference)
        .join(WalletTransaction, WalletTransaction.id == Topup.transaction_id)
        .where(
            Topup.user_id == user_id,
            or_(
                Topup.status == "pending", (Topup.status == "failed") & (Topup.failure == "expired")
            ),
        )
        .order_by(Topup.created_at.desc())
        .limit(limit)
    )
    now = clock_of(session).now()
    return [
        StuckTopup(t, ref, t.created_at, t.status != "pending" or now - t.created_at > STUCK_AFTER)
        for t, ref in rows.all()
    ]


async def provider_answer(session: Any, provider: str, event: CardPaymentEvent) -> Topup:
    """Apply the provider's answer to a re-query through the callback's code."""
    return await topup.settle(session, provider, event)


async def credit_by_hand(session: Any, t: Topup) -> Topup:
    """Settle ``t`` as paid (an approved manual credit): the same entry a provider's success
    posts, key ``topup:<id>``; refused by the caller unless ``can_act``."""
    if t.provider_ref is None:
        raise TopupNotFound()
    event = CardPaymentEvent(
        provider_ref=t.provider_ref,
        reference=str(t.id),
        status="succeeded",
        amount=t.amount + t.fee,
        currency=t.currency,
    )
    return await topup.settle(session, t.provider, event)
