"""Staff actions from the customer page, each written to the audit log: freeze the account with
a reason (every ledger account of the customer is frozen too), unfreeze it (supervisors), send a
published help article to the customer's in-app inbox, and escalate a ticket or a customer to a
supervisor."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from qianbao.identity import freeze as identity_freeze
from qianbao.identity.errors import NotFrozen
from qianbao.kernel.clock import clock_of
from qianbao.kernel.ids import uuid7
from qianbao.notifications import inbox
from qianbao.support.console import audit
from qianbao.support.console.access import require_staff, require_supervisor
from qianbao.support.console.context import customer
from qianbao.support.console.errors import (
    ArticleNotPublished,
    CustomerNotFound,
    EscalationNotFound,
    EscalationTaken,
    ReasonRequired,
)
from qianbao.support.console.models import Escalation
from qianbao.support.console.notices import ARTICLE_TEMPLATE
from qianbao.support.helpcenter import service as help_service
from qianbao.support.helpcenter.errors import ArticleNotFound
from qianbao.support.tickets import service as tickets

MIN_REASON = 5
MAX_REASON = 500


def _reason(reason: str) -> str:
    cleaned = " ".join((reason or "").split())[:MAX_REASON]
    if len(cleaned) < MIN_REASON:
        raise ReasonRequired()
    return cleaned


async def freeze_account(
    session: Any,
    identity_ctx: Any,
    staff: Any,
    user_id: uuid.UUID | str,
    reason: str,
    *,
    ip: str | None = None,
) -> None:
    """Freeze the customer's account (and so every ledger account they own) with a reason."""
    require_staff(staff)
    why = _reason(reason)
    user = await customer(session, user_id)
    was_frozen = user.frozen_at is not None
    await identity_freeze.freeze(session, identity_ctx, user, by=staff, reason=why, ip=ip)
    await audit.record(
        session,
        staff,
        "customer.frozen",
        subject_user_id=user.id,
        obj=("user", user.id),
        details={"reason": why, "already_frozen": True} if was_frozen else {"reason": why},
        ip=ip,
    )
    await session.flush()


async def unfreeze_account(
    session: Any,
    identity_ctx: Any,
    staff: Any,
    user_id: uuid.UUID | str,
    reason: str,
    *,
    ip: str | None = None,
) -> None:
    """Lift a freeze (supervisors and admins only, with a reason: how the customer was checked).
    Agents can freeze at once but not unfreeze, so one person cannot undo a protective freeze
    on a caller's word alone."""
    require_supervisor(staff)
    why = _reason(reason)
    user = await customer(session, user_id)
    if user.frozen_at is None:
        raise NotFrozen()
    was = {"frozen_at": user.frozen_at.isoformat(), "frozen_reason": user.frozen_reason}
    await identity_freeze.unfreeze_by_staff(session, identity_ctx, user, by=staff, ip=ip)
    await audit.record(
        session,
        staff,
        "customer.unfrozen",
        subject_user_id=user.id,
        obj=("user", user.id),
        details={"reason": why, **was},
        ip=ip,
    )
    await session.flush()


async def send_article(
    session: Any, staff: Any, user_id: uuid.UUID | str, slug: str, *, ip: str | None = None
) -> str:
    """Put a link to a published help article in the customer's inbox; returns the link."""
    require_staff(staff)
    user = await customer(session, user_id)
    try:
        article = await help_service.published(session, (slug or "").strip().strip("/"))
    except ArticleNotFound:
        raise ArticleNotPublished() from None
    link = f"/help/{article.slug}"
    await inbox.add(
        session,
        user_id=user.id,
        template=ARTICLE_TEMPLATE,
        params={},
        link=link,
        dedup_key=f"support.article:{user.id}:{uuid7()}",
    )
    await audit.record(
        session,
        staff,
        "article.sent",
        subject_user_id=user.id,
        obj=("article", article.slug),
        ip=ip,
    )
    return link


async def escalate(
    session: Any,
    staff: Any,
    *,
    reason: str,
    user_id: uuid.UUID | str | None = None,
    ticket_reference: str | None = None,
    ip: str | None = None,
) -> Escalation:
    """Ask a supervisor to take over a ticket or a customer."""
    require_staff(staff)
    why = _reason(reason)
    ticket = None
    if ticket_reference:
        ticket = await tickets.any_ticket(session, ticket_reference.strip().upper())
    subject = await customer(session, user_id) if user_id else None
    subject_id = subject.id if subject else (ticket.user_id if ticket else None)
    if ticket is None and subject_id is None:
        raise CustomerNotFound()  # nothing to escalate: the forms always send one of the two
    row = Escalation(
        ticket_id=ticket.id if ticket else None,
        user_id=subject_id,
        reason=why,
        from_agent_id=staff.id,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        staff,
        "escalation.opened",
        subject_user_id=subject_id,
        obj=("escalation", row.id),
        details={"ticket": ticket.reference if ticket else None, "reason": why},
        ip=ip,
    )
    return row


async def open_escalations(session: Any, staff: Any, *, include_taken: bool = False) -> list[Any]:
    """Escalations for supervisors, oldest open first, with the ticket reference."""
    require_supervisor(staff)
    from qianbao.support.tickets.models import Ticket

    stmt = select(Escalation, Ticket.reference).outerjoin(Ticket, Ticket.id == Escalation.ticket_id)
    if not include_taken:
        stmt = stmt.where(Escalation.status == "open")
    rows = await session.execute(stmt.order_by(Escalation.status, Escalation.created_at).limit(200))
    return [(e, ref) for e, ref in rows.all()]


async def take(
    session: Any, staff: Any, escalation_id: uuid.UUID | str, *, ip: str | None = None
) -> Escalation:
    require_supervisor(staff)
    try:
        ident = uuid.UUID(str(escalation_id))
    except ValueError:
        raise EscalationNotFound() from None
    row = await session.get(Escalation, ident, with_for_update=True)
    if row is None:
        raise EscalationNotFound()
    if row.status != "open":
        raise EscalationTaken()
    row.status = "taken"
    row.taken_by = staff.id
    row.taken_at = clock_of(session).now()
    await audit.record(
        session,
        staff,
        "escalation.taken",
        subject_user_id=row.user_id,
        obj=("escalation", row.id),
        ip=ip,
    )
    await session.flush()
    return row
