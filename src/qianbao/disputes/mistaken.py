"""Mistaken transfers ("转错人了"): the sender asks for the money back; the recipient is asked in
the app and by SMS and returns it with one tap (and their PIN). No money moves without their
consent or an approved case: if they say it was no mistake, or do not answer within
``disputes.return_days`` (7), it becomes a support case — their remaining funds are held then, and
an agent and a supervisor decide as for any claim (refunded only from the recipient's money:
a sender's own mistake is not the operator's loss)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from qianbao.disputes.claims import (
    OPENED,
    check_window,
    event,
    first_case_on,
    hold_recipient,
    new_reference,
    own_sent,
)
from qianbao.disputes.errors import (
    CaseNotFound,
    ClaimInvalid,
    WrongStage,
)
from qianbao.disputes.models import Case
from qianbao.disputes.notices import tell
from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel import outbox
from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.wallet import recovery

DEFAULT_NOTE = N_("I sent this to the wrong person by mistake.")


async def ask_back(
    session: Any, ctx: IdentityContext, user: User, *, transaction_id: str, note: str
) -> Case:
    settings = ctx.settings.disputes
    tx = await own_sent(session, user, transaction_id, ("transfer",))
    now = clock_of(session).now()
    check_window(settings, tx, now)
    note = (note or "").strip()
    if len(note) > 500:
        raise ClaimInvalid(reason=N_("the description is too long"))
    await first_case_on(session, tx)
    case = Case(
        reference=new_reference(now),
        kind="mistaken",
        status="asked",
        user_id=user.id,
        transaction_id=tx.id,
        counterparty_user_id=tx.counterparty_user_id,
        currency=tx.currency,
        amount=tx.amount,
        claimed=tx.amount,
        what_happened=note or DEFAULT_NOTE,
        shared="nothing",
        source="mistaken",
        due_at=now + timedelta(days=settings.return_days),
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()
    await event(session, case, "asked", actor=user.id, amount=tx.amount)
    recipient = await session.get(User, tx.counterparty_user_id)
    assert recipient is not None
    await tell(session, ctx.settings, recipient, case, "disputes.return_asked", sender=user)
    return case


async def asked_of(session: Any, user_id: uuid.UUID) -> list[Case]:
    """Mistaken transfers the user is asked to send back."""
    rows = await session.execute(
        select(Case)
        .where(
            Case.counterparty_user_id == user_id,
            Case.kind == "mistaken",
            Case.status == "asked",
        )
        .order_by(Case.created_at)
    )
    return list(rows.scalars())


async def for_recipient(
    session: Any, user_id: uuid.UUID, case_id: uuid.UUID | str, *, lock: bool = False
) -> Case:
    try:
        ident = uuid.UUID(str(case_id))
    except ValueError:
        raise CaseNotFound() from None
    q = select(Case).where(Case.id == ident)
    if lock:
        q = q.with_for_update()
    case = (await session.execute(q)).scalar_one_or_none()
    if case is None or case.kind != "mistaken" or case.counterparty_user_id != user_id:
        raise CaseNotFound()
    return case


async def give_back(
    session: Any, ctx: IdentityContext, recipient: User, case_id: uuid.UUID | str, *, pin: str
) -> Case:
    """The recipient sends the money back (their PIN is their consent)."""
    await identity_pin.verify_pin(session, ctx, recipient.id, pin)
    case = await for_recipient(session, recipient.id, case_id, lock=True)
    if case.status != "asked":
        raise WrongStage(status=case.status)
    await recovery.send_back(
        session,
        recipient_id=recipient.id,
        sender_id=case.user_id,
        currency=case.currency,
        amount=case.claimed,
        key=f"case:{case.id}",
        case_reference=case.reference,
    )
    now = clock_of(session).now()
    case.status, case.closed_at, case.updated_at = "returned", now, now
    await event(session, case, "returned", actor=recipient.id, amount=case.claimed)
    await session.flush()
    sender = await session.get(User, case.user_id)
    assert sender is not None
    await tell(session, ctx.settings, sender, case, "disputes.returned")
    return case


async def decline(
    session: Any, ctx: IdentityContext, recipient: User, case_id: uuid.UUID | str, *, reason: str
) -> Case:
    """The recipient says it was no mistake: it becomes a support case."""
    case = await for_recipient(session, recipient.id, case_id, lock=True)
    if case.status != "asked":
        raise WrongStage(status=case.status)
    await _to_support(session, ctx.settings, case, "declined", (reason or "").strip()[:500])
    return case


async def escalate_due(session: Any, settings: Any, *, limit: int = 100) -> int:
    """Mistaken transfers nobody answered in time become support cases (the worker, hourly)."""
    now = clock_of(session).now()
    due = (
        await session.execute(
            select(Case)
            .where(Case.kind == "mistaken", Case.status == "asked", Case.due_at <= now)
            .order_by(Case.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    count = 0
    for case in list(due):
        await _to_support(session, settings, case, "not_answered", None)
        count += 1
    return count


async def _to_support(session: Any, settings: Any, case: Case, why: str, note: str | None) -> None:
    now = clock_of(session).now()
    case.status, case.updated_at = "open", now
    case.due_at = now + timedelta(hours=settings.disputes.recommend_hours)
    await event(session, case, why, actor=case.counterparty_user_id, note=note)
    await hold_recipient(session, case, "hold")
    await session.flush()
    await outbox.emit(session, OPENED, {"case_id": str(case.id)})
    sender = await session.get(User, case.user_id)
    assert sender is not None
    await tell(session, settings, sender, case, "disputes.return_declined")
