"""The console's identity verification review (A8): who may review, and the audit log.

Supervisors and admins review (with two-step verification on, ``access.require_supervisor``):
an approval lifts the customer's limits, so an agent who talks to customers all day does not
decide it. Every opening of an application, every view of one of its photos and every decision
is a line in the audit log; the states and the customer's notices are
``qianbao.identity.kyc_review``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qianbao.identity import kyc_review
from qianbao.identity.kyc_review import Waiting
from qianbao.identity.models_kyc import KycDocument
from qianbao.support.console import audit
from qianbao.support.console.access import require_supervisor

AUDIT_ACTIONS = (
    "kyc.viewed",
    "kyc.document_viewed",
    "kyc.approved",
    "kyc.rejected",
    "kyc.resubmit_asked",
)


@dataclass(frozen=True)
class Application:
    found: Waiting
    documents: dict[str, KycDocument]


async def queue(session: Any, staff: Any) -> list[Waiting]:
    """What waits for a decision, oldest first (a list of masked numbers: not audited)."""
    require_supervisor(staff)
    return await kyc_review.queue(session)


async def waiting_count(session: Any, staff: Any) -> int:
    require_supervisor(staff)
    return await kyc_review.waiting_count(session)


async def open_application(
    session: Any, staff: Any, application_id: str, *, ip: str | None = None
) -> Application:
    """One application with its photos' facts (the photos themselves: ``photo``); audited."""
    require_supervisor(staff)
    found = await kyc_review.get(session, application_id)
    await audit.record(
        session,
        staff,
        "kyc.viewed",
        subject_user_id=found.user.id,
        obj=("kyc_application", found.application.id),
        details={"status": found.application.status},
        ip=ip,
    )
    return Application(found, await kyc_review.documents(session, found.application))


async def photo(
    session: Any, settings: Any, staff: Any, application_id: str, kind: str, *, ip: str | None
) -> bytes:
    """One photo, decrypted for this view only; every view is audited."""
    require_supervisor(staff)
    found = await kyc_review.get(session, application_id)
    image = await kyc_review.document(session, settings, found.application, kind)
    await audit.record(
        session,
        staff,
        "kyc.document_viewed",
        subject_user_id=found.user.id,
        obj=("kyc_application", found.application.id),
        details={"document": kind},
        ip=ip,
    )
    return image


async def approve(
    session: Any, settings: Any, staff: Any, application_id: str, *, ip: str | None = None
) -> None:
    require_supervisor(staff)
    app = await kyc_review.approve(session, settings, application_id, by=staff.id)
    await _record(session, staff, "kyc.approved", app, {"tier": 2}, ip)


async def reject(
    session: Any,
    settings: Any,
    staff: Any,
    application_id: str,
    *,
    reason: str,
    note: str | None = None,
    ip: str | None = None,
) -> None:
    require_supervisor(staff)
    app = await kyc_review.reject(
        session, settings, application_id, by=staff.id, reason=reason, note=note
    )
    await _record(session, staff, "kyc.rejected", app, {"reason": reason, "note": app.note}, ip)


async def ask_again(
    session: Any,
    settings: Any,
    staff: Any,
    application_id: str,
    *,
    kind: str,
    reason: str,
    note: str | None = None,
    ip: str | None = None,
) -> None:
    require_supervisor(staff)
    app = await kyc_review.ask_again(
        session, settings, application_id, by=staff.id, kind=kind, reason=reason, note=note
    )
    details = {"document": kind, "reason": reason, "note": app.note}
    await _record(session, staff, "kyc.resubmit_asked", app, details, ip)


async def _record(
    session: Any, staff: Any, action: str, app: Any, details: dict[str, Any], ip: str | None
) -> None:
    await audit.record(
        session,
        staff,
        action,
        subject_user_id=app.user_id,
        obj=("kyc_application", app.id),
        details={"submission": app.submissions, **details},
        ip=ip,
    )


async def history(session: Any, staff: Any, user_id: Any) -> list[Any]:
    """The kyc lines of the audit log about this customer, newest first (for the page)."""
    require_supervisor(staff)
    return [
        e for e in await audit.of_customer(session, user_id, limit=50) if e.action in AUDIT_ACTIONS
    ]


def age(submitted_at: datetime | None, now: datetime) -> int:
    """Whole minutes an application has waited."""
    return max(0, int((now - submitted_at).total_seconds() // 60)) if submitted_at else 0
