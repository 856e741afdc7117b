"""Four-eyes changes of the money settings. ``propose`` records the value in force (``before``)
and the value asked for (``after``); ``decide`` approves or rejects it. An approval is by
another operator than the proposer; it applies the value and writes the audit log, both in the
caller's transaction, and is refused when the setting changed since it was proposed (the value
in force is no longer ``before``). One change per setting is pending at a time; the change row
is locked while it is decided, so of two approvals at once exactly one applies it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from qianbao.finance.access import require_finance_staff
from qianbao.finance.errors import (
    ChangeDecided,
    ChangeNotFound,
    ChangePending,
    InvalidSetting,
    NothingChanges,
    SameApprover,
    StaleChange,
)
from qianbao.finance.models import SettingChange
from qianbao.finance.targets import apply, current, parse, target_of
from qianbao.kernel.clock import clock_of
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.i18n import N_
from qianbao.support.console import audit


def masked(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A value as shown and audited: an account number keeps its last four characters."""
    if value is None or "account_number" not in value:
        return value
    number = str(value["account_number"])
    return {**value, "account_number": f"•••• {number[-4:]}"}


def _audit_text(value: dict[str, Any] | None) -> str:
    return json.dumps(masked(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


async def propose(
    session: Any,
    settings: Any,
    staff: Any,
    *,
    target: str,
    values: dict[str, Any],
    reason: str,
    ip: str | None = None,
) -> SettingChange:
    require_finance_staff(staff)
    t = target_of(target, settings)
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidSetting(reason=N_("say why the setting should change"))
    await lock_for_transaction(session, f"finance-change:{t.text}")
    if await pending_for(session, t.text) is not None:
        raise ChangePending()
    before = await current(session, settings, t)
    after = await parse(session, t, values, before)
    if after == before:
        raise NothingChanges()
    change = SettingChange(
        kind=t.kind,
        target=t.text,
        before=before,
        after=after,
        reason=reason[:300],
        status="pending",
        proposed_by=staff.id,
        proposed_at=clock_of(session).now(),
    )
    session.add(change)
    await session.flush()
    await audit.record(
        session,
        staff,
        "finance.change_proposed",
        obj=("finance_change", change.id),
        details={
            "target": t.text,
            "before": _audit_text(before),
            "after": _audit_text(after),
            "reason": reason,
        },
        ip=ip,
    )
    return change


async def decide(
    session: Any,
    settings: Any,
    staff: Any,
    change_id: uuid.UUID | str,
    *,
    approve: bool,
    ip: str | None = None,
) -> SettingChange:
    """Approve (another operator) or reject (anyone, the proposer too: a withdrawal)."""
    require_finance_staff(staff)
    wanted = _change_id(change_id)
    change = (
        await session.execute(
            select(SettingChange).where(SettingChange.id == wanted).with_for_update()
        )
    ).scalar_one_or_none()
    if change is None:
        raise ChangeNotFound()
    if change.status != "pending":
        raise ChangeDecided()
    if approve and change.proposed_by == staff.id:
        raise SameApprover()
    t = target_of(change.target, settings)
    now = clock_of(session).now()
    if approve:
        if await current(session, settings, t) != change.before:
            raise StaleChange()
        await apply(session, t, change.after, change_id=change.id, now=now)
    change.status = "approved" if approve else "rejected"
    change.decided_by, change.decided_at = staff.id, now
    await session.flush()
    await audit.record(
        session,
        staff,
        "finance.change_approved" if approve else "finance.change_rejected",
        obj=("finance_change", change.id),
        details={
            "target": change.target,
            "before": _audit_text(change.before),
            "after": _audit_text(change.after),
            "proposed_by": str(change.proposed_by),
        },
        ip=ip,
    )
    return change


def _change_id(change_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return uuid.UUID(str(change_id))
    except ValueError:
        raise ChangeNotFound() from None


async def pending_for(session: Any, target: str) -> SettingChange | None:
    return await session.scalar(
        select(SettingChange).where(
            SettingChange.target == target, SettingChange.status == "pending"
        )
    )


async def get(session: Any, staff: Any, change_id: uuid.UUID | str) -> SettingChange:
    require_finance_staff(staff)
    wanted = _change_id(change_id)
    change = await session.get(SettingChange, wanted)
    if change is None:
        raise ChangeNotFound()
    return change


async def listing(
    session: Any,
    staff: Any,
    *,
    status: str | None = None,
    kind: str | None = None,
    target: str | None = None,
    limit: int = 50,
) -> list[SettingChange]:
    """Pending changes oldest first; decided ones newest first."""
    require_finance_staff(staff)
    q = select(SettingChange)
    if status is not None:
        q = q.where(SettingChange.status == status)
    if kind is not None:
        q = q.where(SettingChange.kind == kind)
    if target is not None:
        q = q.where(SettingChange.target == target)
    order = (
        SettingChange.proposed_at.asc() if status == "pending" else SettingChange.proposed_at.desc()
    )
    rows = await session.execute(q.order_by(order).limit(max(1, min(limit, 500))))
    return list(rows.scalars())
