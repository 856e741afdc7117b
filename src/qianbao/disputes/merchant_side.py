"""The merchant's side of a claim on one of its payments (D4): it is told when the claim opens
(webhook ``dispute.opened`` and its dashboard), may answer once with its evidence before the
deadline (``disputes.merchant_answer_days``), and is told how it ended (``dispute.closed``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from qianbao.disputes.claims import event
from qianbao.disputes.errors import (
    CaseNotFound,
    ClaimInvalid,
    MerchantAlreadyAnswered,
    MerchantAnswerTooLate,
    WrongStage,
)
from qianbao.disputes.models import Case
from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import plain_text

MAX_EVIDENCE = 4000


async def of_merchant(session: Any, merchant_id: uuid.UUID, *, limit: int = 100) -> list[Case]:
    rows = await session.execute(
        select(Case)
        .where(Case.merchant_id == merchant_id)
        .order_by(Case.created_at.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def one(session: Any, merchant_id: uuid.UUID, reference: str, *, lock: bool = False) -> Case:
    q = select(Case).where(Case.reference == reference, Case.merchant_id == merchant_id)
    if lock:
        q = q.with_for_update()
    case = (await session.execute(q)).scalar_one_or_none()
    if case is None:
        raise CaseNotFound()
    return case


async def answer(
    session: Any, merchant_id: uuid.UUID, reference: str, *, evidence: str, by: uuid.UUID | None
) -> Case:
    case = await one(session, merchant_id, reference, lock=True)
    if case.merchant_answered_at is not None:
        raise MerchantAlreadyAnswered()
    if case.status not in ("open", "recommended"):
        raise WrongStage(status=case.status)
    now = clock_of(session).now()
    if case.merchant_due_at is not None and now > case.merchant_due_at:
        raise MerchantAnswerTooLate()
    text = plain_text(evidence or "").strip()
    if not text:
        raise ClaimInvalid(reason=N_("write the shop's answer"))
    if len(text) > MAX_EVIDENCE:
        raise ClaimInvalid(reason=N_("the description is too long"))
    case.merchant_answer, case.merchant_answered_at, case.updated_at = text, now, now
    await event(session, case, "merchant_answered", actor=by, public=False)
    await session.flush()
    return case
