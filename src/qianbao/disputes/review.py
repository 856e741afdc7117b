"""The staff's side of a case (D4, E9): the queue with its SLA, the investigation (everything
about the transaction, both parties and the counterparty's other claims), an agent's
recommendation, and a supervisor's decision — never by the one who recommended. An approved
refund returns the money from the recipient's held funds, the rest from the operator's loss
account; a rejection releases the hold and tells the customer why."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from qianbao.disputes.claims import event, hold_recipient
from qianbao.disputes.errors import (
    AmountAboveClaim,
    CaseNotFound,
    ClaimInvalid,
    SamePerson,
    SupervisorsOnly,
    WrongStage,
)
from qianbao.disputes.models import Case
from qianbao.disputes.notices import tell
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.merchants import chargebacks
from qianbao.wallet import recovery

DECIDERS = ("supervisor", "admin")
OPEN = ("open", "recommended")


async def queue(session: Any, *, statuses: tuple[str, ...] = OPEN, limit: int = 100) -> list[Case]:
    """Open cases, the most urgent (earliest due) first."""
    rows = await session.execute(
        select(Case).where(Case.status.in_(statuses)).order_by(Case.due_at).limit(limit)
    )
    return list(rows.scalars())


async def get(session: Any, case_id: uuid.UUID | str, *, lock: bool = False) -> Case:
    try:
        ident = uuid.UUID(str(case_id))
    except ValueError:
        raise CaseNotFound() from None
    q = select(Case).where(Case.id == ident)
    if lock:
        q = q.with_for_update()
    case = (await session.execute(q)).scalar_one_or_none()
    if case is None:
        raise CaseNotFound()
    return case


async def other_claims_against(session: Any, case: Case) -> list[Case]:
    """Other customers' cases against the same counterparty: a pattern agents must see."""
    if case.counterparty_user_id is None:
        return []
    rows = await session.execute(
        select(Case)
        .where(Case.counterparty_user_id == case.counterparty_user_id, Case.id != case.id)
        .order_by(Case.created_at.desc())
        .limit(20)
    )
    return list(rows.scalars())


async def of_customer(session: Any, user_id: uuid.UUID) -> list[Case]:
    rows = await session.execute(
        select(Case)
        .where((Case.user_id == user_id) | (Case.counterparty_user_id == user_id))
        .order_by(Case.created_at.desc())
        .limit(20)
    )
    return list(rows.scalars())


async def release_hold(session: Any, staff: User, case_id: uuid.UUID | str, *, note: str) -> Case:
    """An agent lets the counterparty have their money back while the case goes on (E9): a hold
    found to be wrong, or a merchant's refund arranged outside. An upheld claim is then paid
    from the loss account. The reason stays on the case."""
    case = await get(session, case_id, lock=True)
    if case.status not in OPEN or case.hold_id is None:
        raise WrongStage(status=case.status)
    note = (note or "").strip()
    if not note:
        raise ClaimInvalid(reason=N_("say why the hold is released"))
    await recovery.release(session, hold_id=case.hold_id, key=f"case:{case.id}:{case.hold_id}")
    released = case.held
    case.hold_id, case.held = None, 0
    case.updated_at = clock_of(session).now()
    await event(session, case, "released", actor=staff.id, note=note[:2000], amount=released,
                public=False)  # fmt: skip
    await session.flush()
    return case


async def hold_again(session: Any, staff: User, case_id: uuid.UUID | str) -> Case:
    """An agent holds what is now in the counterparty's wallet, up to the claimed amount (E9):
    after a release, or when the money came back into it since the claim opened."""
    case = await get(session, case_id, lock=True)
    if (
        case.status not in OPEN
        or case.hold_id is not None
        or case.counterparty_user_id is None
        or not case.money_moved
    ):
        raise WrongStage(status=case.status)
    step = f"agent-hold:{clock_of(session).now().timestamp()}"
    await hold_recipient(session, case, step)
    case.updated_at = clock_of(session).now()
    await session.flush()
    return case


async def recommend(
    session: Any,
    settings: Any,
    staff: User,
    case_id: uuid.UUID | str,
    *,
    refund: bool,
    amount: Money | None,
    note: str,
) -> Case:
    case = await get(session, case_id, lock=True)
    if case.status != "open":
        raise WrongStage(status=case.status)
    note = (note or "").strip()
    if not note:
        raise ClaimInvalid(reason=N_("write down what the investigation found"))
    if refund and not case.money_moved:
        raise ClaimInvalid(
            reason=N_("no money left the customer's account (the payment was held and cancelled)")
        )
    if refund:
        minor = amount.minor if amount is not None else case.claimed
        if amount is not None and amount.currency != case.currency:
            raise ClaimInvalid(reason=N_("the currency must be the transaction's"))
        if not 0 < minor <= case.claimed:
            raise AmountAboveClaim(amount=Money(case.claimed, case.currency))
        case.recommended_amount = minor
    else:
        case.recommended_amount = None
    now = clock_of(session).now()
    case.recommendation = "refund" if refund else "reject"
    case.recommended_by, case.recommendation_note = staff.id, note[:2000]
    case.status, case.updated_at = "recommended", now
    case.due_at = now + timedelta(hours=settings.disputes.decide_hours)
    await event(
        session,
        case,
        "recommended",
        actor=staff.id,
        note=case.recommendation,
        amount=case.recommended_amount,
        public=False,
    )
    await session.flush()
    return case


async def decide(
    session: Any,
    settings: Any,
    supervisor: User,
    case_id: uuid.UUID | str,
    *,
    approve: bool,
    reason: str,
) -> Case:
    """Approve the recommendation (refund or reject), or send it back to the agents."""
    if supervisor.role not in DECIDERS:
        raise SupervisorsOnly()
    case = await get(session, case_id, lock=True)
    if case.status != "recommended":
        raise WrongStage(status=case.status)
    if case.recommended_by == supervisor.id:
        raise SamePerson()
    reason = (reason or "").strip()
    if not reason:
        raise ClaimInvalid(reason=N_("write the reason the customer will read"))
    now = clock_of(session).now()
    case.decided_by, case.decision_reason, case.updated_at = supervisor.id, reason[:2000], now
    claimant = await session.get(User, case.user_id)
    assert claimant is not None
    if not approve:  # back to the agents
        case.status, case.recommendation, case.recommended_by = "open", None, None
        case.recommended_amount = None
        case.due_at = now + timedelta(hours=settings.disputes.recommend_hours)
        await event(session, case, "sent_back", actor=supervisor.id, note=reason, public=False)
        await session.flush()
        return case
    key = f"case:{case.id}:{'appeal' if case.appealed_at else 'first'}"
    if case.recommendation == "refund":
        assert case.recommended_amount is not None
        wanted = case.recommended_amount
        from_merchant = 0
        if case.merchant_payment_id is not None:  # a chargeback first
            from_merchant, _ = await chargebacks.charge_back(
                session,
                case.merchant_payment_id,
                amount=wanted,
                key=key,
                case_reference=case.reference,
            )
            case.recovered_merchant += from_merchant
        done = recovery.Refunded(0, 0, None)
        if wanted - from_merchant:
            done = await recovery.refund(
                session,
                claimant_id=case.user_id,
                recipient_id=case.counterparty_user_id,
                currency=case.currency,
                amount=wanted - from_merchant,
                hold_id=case.hold_id,
                held=case.held,
                key=key,
                case_reference=case.reference,
                write_off=case.kind == "unauthorized",  # a sender's own mistake is not our loss
            )
        case.recovered_held += done.from_recipient
        case.written_off += done.written_off
        case.status = "refunded"
        # What really came back (a mistaken transfer's recipient may have had less).
        await event(
            session, case, "refunded", actor=supervisor.id, note=reason, amount=case.returned
        )
        template = "disputes.case_refunded"
    else:
        await recovery.release(session, hold_id=case.hold_id, key=key)
        case.status = "rejected"
        await event(session, case, "rejected", actor=supervisor.id, note=reason)
        template = "disputes.case_rejected"
    case.hold_id, case.closed_at = None, now
    await session.flush()
    if case.merchant_id is not None and case.merchant_payment_id is not None:
        await chargebacks.dispute_event(
            session,
            case.merchant_id,
            "dispute.closed",
            case_reference=case.reference,
            payment_id=case.merchant_payment_id,
            amount=case.claimed,
            currency=case.currency,
            status="lost" if case.recovered_merchant else "won",
            respond_by=case.merchant_due_at,
            at=now,
            charged_back=case.recovered_merchant,
        )
    await tell(session, settings, claimant, case, template)
    return case


async def totals(session: Any, *, since: Any) -> dict[str, Any]:
    """For the reports: cases opened and closed, outcomes, money recovered and written off."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Case.status.in_(("refunded", "rejected", "withdrawn"))),
                func.count().filter(Case.status == "refunded"),
                func.count().filter(Case.status == "rejected"),
                func.coalesce(func.sum(Case.recovered_held), 0),
                func.coalesce(func.sum(Case.written_off), 0),
                func.coalesce(func.sum(Case.recovered_merchant), 0),
                func.avg(func.extract("epoch", Case.closed_at - Case.created_at)).filter(
                    Case.status.in_(("refunded", "rejected"))
                ),
                func.count().filter(Case.status == "returned"),
            ).where(Case.created_at >= since)
        )
    ).one()
    return {
        "opened": int(row[0]),
        "closed": int(row[1]),
        "refunded": int(row[2]),
        "rejected": int(row[3]),
        "recovered": int(row[4]),
        "written_off": int(row[5]),
        "charged_back": int(row[6]),
        "hours_to_decision": round(float(row[7]) / 3600, 1) if row[7] is not None else None,
        "returned": int(row[8]),
    }
