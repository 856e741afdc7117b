"""Agents act on a stuck top-up (issue 20): re-query the provider, or credit it by hand with a
second approver. Money moves only through the top-up's own settling code
(``wallet.topup_repair``): credited once under the key ``topup:<id>``, whatever comes first.

- ``requery``: reads the top-up, gives the pooled connection back, asks the provider
  (``query_payment``: an outside HTTP call holds no connection), then applies the answer in a
  new transaction exactly as the provider's callback would be applied. Audited.
- ``propose`` / ``decide``: four eyes, as the finance console's changes. Any agent proposes
  crediting the top-up's own amount with a reason and the evidence seen; another staff member,
  a supervisor or admin (two-step verification, as for all the console), approves — the
  proposer never can — or rejects it with a reason (the proposer may withdraw it). The
  proposal row is locked while it is decided, so of two approvals at once exactly one credits;
  an approval finding the top-up settled meanwhile (the provider's success came first) is
  refused. The customer gets the normal top-up notification. Everything is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from qianbao.kernel.clock import clock_of
from qianbao.kernel.db import release_connection
from qianbao.support.console import audit
from qianbao.support.console.access import is_supervisor, require_staff, require_supervisor
from qianbao.support.console.actions import _reason
from qianbao.support.console.errors_topups import (
    CreditDecided,
    CreditNotFound,
    CreditPending,
    CreditSameApprover,
    EvidenceRequired,
    ProviderUnknown,
    TopupNotStuck,
)
from qianbao.support.console.models_topups import TopupCredit
from qianbao.wallet import topup_repair as repair
from qianbao.wallet.models import Topup

MAX_EVIDENCE = 1000


@dataclass(frozen=True)
class Requeried:
    topup: Topup
    answer: str  # the provider's status, or "open" (still waiting for the customer / unknown)
    before: str  # the top-up's state before: pending, or failed:expired


def _state(t: Topup) -> str:
    return t.status if t.failure is None else f"{t.status}:{t.failure}"


SETTLED_NOTE = "settled by the provider's answer before approval"


async def requery(
    session: Any, acquirers: Any, staff: Any, topup_id: uuid.UUID | str, *, ip: str | None = None
) -> Requeried:
    """Ask the top-up's provider where the payment stands and apply the answer."""
    require_staff(staff)
    t = await repair.find(session, topup_id)
    if not repair.can_act(t):
        raise TopupNotStuck()
    acquirer = acquirers.for_provider(t.provider)
    if acquirer is None or t.provider_ref is None:
        raise ProviderUnknown()
    before, provider_ref, provider, ident = _state(t), t.provider_ref, t.provider, t.id
    await release_connection(session)  # nothing written yet: no connection waits on the call
    event = await acquirer.query_payment(session, provider_ref)
    session.expire(t)  # a callback may have settled it during the call: read it again
    if event is not None:
        t = await repair.provider_answer(session, provider, event)
    else:
        t = await repair.find(session, ident)
    if not repair.can_act(t):
        # The provider's answer settled it: a credit by hand still waiting has nothing to do.
        waiting = await pending_for(session, t.id)
        if waiting is not None:
            waiting.status, waiting.outcome = "rejected", _state(t)
            waiting.decided_by, waiting.decided_at = staff.id, clock_of(session).now()
            waiting.decision_note = SETTLED_NOTE
    await audit.record(
        session,
        staff,
        "topup.requeried",
        subject_user_id=t.user_id,
        obj=("topup", await repair.reference_of(session, t)),
        details={
            "provider": t.provider,
            "answer": event.status if event else "open",
            "before": before,
            "after": _state(t),
        },
        ip=ip,
    )
    return Requeried(t, event.status if event else "open", before)


def _evidence(text: str) -> str:
    cleaned = " ".join((text or "").split())[:MAX_EVIDENCE]
    if len(cleaned) < 5:
        raise EvidenceRequired()
    return cleaned


async def propose(
    session: Any,
    staff: Any,
    topup_id: uuid.UUID | str,
    *,
    reason: str,
    evidence: str,
    ip: str | None = None,
) -> TopupCredit:
    """Ask a second staff member to credit the top-up's own amount by hand."""
    require_staff(staff)
    why, seen = _reason(reason), _evidence(evidence)
    t = await repair.find(session, topup_id, lock=True)
    if not repair.can_act(t):
        raise TopupNotStuck()
    if await pending_for(session, t.id) is not None:
        raise CreditPending()
    reference = await repair.reference_of(session, t)
    credit = TopupCredit(
        topup_id=t.id,
        user_id=t.user_id,
        reference=reference,
        amount=t.amount,
        currency=t.currency,
        reason=why,
        evidence=seen,
        status="pending",
        proposed_by=staff.id,
        proposed_at=clock_of(session).now(),
    )
    session.add(credit)
    await session.flush()
    await audit.record(
        session,
        staff,
        "topup.credit_proposed",
        subject_user_id=t.user_id,
        obj=("topup", reference),
        details={"amount": t.amount, "currency": t.currency, "reason": why, "evidence": seen},
        ip=ip,
    )
    return credit


def _credit_id(credit_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return credit_id if isinstance(credit_id, uuid.UUID) else uuid.UUID(str(credit_id))
    except ValueError:
        raise CreditNotFound() from None


async def decide(
    session: Any,
    staff: Any,
    credit_id: uuid.UUID | str,
    *,
    approve: bool,
    note: str = "",
    ip: str | None = None,
) -> TopupCredit:
    """Approve (a supervisor or admin other than the proposer: the top-up is credited) or
    reject with a reason (a supervisor or admin, or the proposer withdrawing it)."""
    require_staff(staff)
    credit = (
        await session.execute(
            select(TopupCredit)
            .where(TopupCredit.id == _credit_id(credit_id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if credit is None:
        raise CreditNotFound()
    if credit.status != "pending":
        raise CreditDecided()
    if approve:
        if credit.proposed_by == staff.id:
            raise CreditSameApprover()
        require_supervisor(staff)
        why = " ".join((note or "").split())[:500] or None
    else:
        if credit.proposed_by != staff.id:
            require_supervisor(staff)
        why = _reason(note)
    now = clock_of(session).now()
    if approve:
        t = await repair.find(session, credit.topup_id, lock=True)
        if not repair.can_act(t):
            raise TopupNotStuck()  # settled meanwhile (the provider's success came first)
        t = await repair.credit_by_hand(session, t)
        credit.outcome = _state(t)
    credit.status = "approved" if approve else "rejected"
    credit.decided_by, credit.decided_at, credit.decision_note = staff.id, now, why
    await session.flush()
    await audit.record(
        session,
        staff,
        "topup.credit_approved" if approve else "topup.credit_rejected",
        subject_user_id=credit.user_id,
        obj=("topup", credit.reference),
        details={
            "amount": credit.amount,
            "currency": credit.currency,
            "proposed_by": str(credit.proposed_by),
            "note": why,
            "outcome": credit.outcome,
        },
        ip=ip,
    )
    return credit


async def pending_for(session: Any, topup_id: uuid.UUID) -> TopupCredit | None:
    return await session.scalar(
        select(TopupCredit).where(TopupCredit.topup_id == topup_id, TopupCredit.status == "pending")
    )


async def get(session: Any, staff: Any, credit_id: uuid.UUID | str) -> TopupCredit:
    require_staff(staff)
    credit = await session.get(TopupCredit, _credit_id(credit_id))
    if credit is None:
        raise CreditNotFound()
    return credit


async def listing(
    session: Any, staff: Any, *, status: str = "pending", limit: int = 100
) -> list[TopupCredit]:
    """The approvers' queue (pending, oldest first) or decided ones (newest first)."""
    require_staff(staff)
    order = TopupCredit.proposed_at.asc() if status == "pending" else TopupCredit.decided_at.desc()
    rows = await session.execute(
        select(TopupCredit).where(TopupCredit.status == status).order_by(order).limit(limit)
    )
    return list(rows.scalars())


async def of_customer(session: Any, user_id: uuid.UUID, *, limit: int = 10) -> list[TopupCredit]:
    rows = await session.execute(
        select(TopupCredit)
        .where(TopupCredit.user_id == user_id)
        .order_by(TopupCredit.proposed_at.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def pending_count(session: Any) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(TopupCredit).where(TopupCredit.status == "pending")
        )
        or 0
    )


def can_approve(staff: Any, credit: TopupCredit) -> bool:
    return is_supervisor(staff) and credit.proposed_by != staff.id


@dataclass(frozen=True)
class CustomerTopups:
    stuck: list[repair.StuckTopup]  # pending or expired, newest first
    credits: list[TopupCredit]  # the manual credits proposed for this customer
    pending_by_topup: dict[uuid.UUID, TopupCredit]


async def customer_view(session: Any, user_id: uuid.UUID) -> CustomerTopups:
    """What the customer page shows (read as part of the audited customer view)."""
    credits = await of_customer(session, user_id)
    return CustomerTopups(
        stuck=await repair.of_customer(session, user_id),
        credits=credits,
        pending_by_topup={c.topup_id: c for c in credits if c.status == "pending"},
    )
