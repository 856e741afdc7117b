"""Changing the real-time rules (D2) with four-eyes: one operator proposes a change (with a
back-test of the last 30 days attached), another approves or rejects it; only an approval
changes the rule in force. And what agents read: the decision log and the rules' hit rates."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from qianbao.kernel.clock import clock_of
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.risk.models import DecisionRow, RuleChange, RuleRow
from qianbao.risk.rules import ACTIONS, RULE_CODES, Backtest, Rule, Signals, backtest

BACKTEST_DAYS = 30
BACKTEST_MAX = 200_000  # decisions read at most (the newest)


class UnknownRule(DomainError):
    code = "risk.rule_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such rule.")


class InvalidRule(DomainError):
    code = "risk.rule_invalid"
    kind = ErrorKind.INVALID
    message = N_("Check the rule: {reason}")


class ChangeOpen(DomainError):
    code = "risk.change_pending"
    kind = ErrorKind.CONFLICT
    message = N_("A change to this rule is already waiting for approval: decide on it first.")


class ChangeNotFound(DomainError):
    code = "risk.change_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such change is waiting for approval.")


class SameApprover(DomainError):
    code = "risk.same_approver"
    kind = ErrorKind.FORBIDDEN
    message = N_("Another operator must approve this change: you proposed it.")


def _rule(row: RuleRow | RuleChange) -> Rule:
    return Rule(row.code, row.enabled, row.action, row.min_amount, row.threshold)


async def rules_in_force(session: Any) -> list[Rule]:
    rows = await session.execute(select(RuleRow).order_by(RuleRow.code))
    return [_rule(r) for r in rows.scalars()]


async def open_changes(session: Any) -> list[RuleChange]:
    rows = await session.execute(
        select(RuleChange).where(RuleChange.status == "proposed").order_by(RuleChange.proposed_at)
    )
    return list(rows.scalars())


async def recent_changes(session: Any, limit: int = 20) -> list[RuleChange]:
    rows = await session.execute(
        select(RuleChange)
        .where(RuleChange.status != "proposed")
        .order_by(RuleChange.decided_at.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def run_backtest(session: Any, candidate: Rule, *, now: datetime) -> Backtest:
    """What ``candidate`` would have done on the last 30 days' money-out operations. An
    operation counts as disputed when its user answered "No, it was not me"."""
    since = now - timedelta(days=BACKTEST_DAYS)
    rows = await session.execute(
        select(DecisionRow.signals, DecisionRow.outcome)
        .where(DecisionRow.created_at >= since)
        .order_by(DecisionRow.created_at.desc())
        .limit(BACKTEST_MAX)
    )
    history = ((Signals.from_json(sig), outcome == "denied") for sig, outcome in rows)
    return backtest(await rules_in_force(session), candidate, history)


def check(rule: Rule) -> None:
    if rule.code not in RULE_CODES:
        raise UnknownRule()
    if rule.action not in ACTIONS or rule.action == "allow":
        raise InvalidRule(reason=N_("the action must be step-up, hold or block"))
    if not 0 <= rule.min_amount <= 10**12 or not 0 <= rule.threshold <= 10**6:
        raise InvalidRule(reason=N_("the numbers must be whole and not negative"))


async def propose(session: Any, candidate: Rule, *, reason: str, by: uuid.UUID) -> RuleChange:
    check(candidate)
    reason = reason.strip()
    if not reason:
        raise InvalidRule(reason=N_("say why the rule should change"))
    await lock_for_transaction(session, f"risk-rule:{candidate.code}")
    if any(c.code == candidate.code for c in await open_changes(session)):
        raise ChangeOpen()
    current = next(r for r in await rules_in_force(session) if r.code == candidate.code)
    if current == candidate:
        raise InvalidRule(reason=N_("nothing would change"))
    now = clock_of(session).now()
    result = await run_backtest(session, candidate, now=now)
    change = RuleChange(
        code=candidate.code,
        enabled=candidate.enabled,
        action=candidate.action,
        min_amount=candidate.min_amount,
        threshold=candidate.threshold,
        reason=reason[:300],
        status="proposed",
        proposed_by=by,
        proposed_at=now,
        backtest=asdict(result),
    )
    session.add(change)
    await session.flush()
    return change


async def decide(session: Any, change_id: uuid.UUID, *, approve: bool, by: uuid.UUID) -> RuleChange:
    change = (
        await session.execute(
            select(RuleChange).where(RuleChange.id == change_id).with_for_update()
        )
    ).scalar_one_or_none()
    if change is None or change.status != "proposed":
        raise ChangeNotFound()
    if change.proposed_by == by:
        raise SameApprover()
    now = clock_of(session).now()
    change.status, change.decided_by, change.decided_at = (
        "applied" if approve else "rejected",
        by,
        now,
    )
    if approve:
        row = await session.get(RuleRow, change.code, with_for_update=True)
        assert row is not None
        row.enabled, row.action = change.enabled, change.action
        row.min_amount, row.threshold = change.min_amount, change.threshold
        row.updated_at, row.change_id = now, change.id
    await session.flush()
    return change


async def decisions_of(
    session: Any, user_id: uuid.UUID | None = None, *, flagged_only: bool = True, limit: int = 50
) -> list[DecisionRow]:
    """The decision log, newest first: one user's, or everyone's that were not a plain allow."""
    q = select(DecisionRow).order_by(DecisionRow.created_at.desc()).limit(limit)
    if user_id is not None:
        q = q.where(DecisionRow.user_id == user_id)
    if flagged_only:
        q = q.where(DecisionRow.action != "allow")
    return list((await session.execute(q)).scalars())


async def decisions_of_transaction(session: Any, transaction_id: uuid.UUID) -> list[DecisionRow]:
    rows = await session.execute(
        select(DecisionRow)
        .where(DecisionRow.transaction_id == transaction_id)
        .order_by(DecisionRow.created_at)
    )
    return list(rows.scalars())


async def hit_rates(session: Any, *, since: datetime) -> dict[str, Any]:
    """Per rule: operations it fired on since ``since``, and how the user answered its holds."""
    total = (
        await session.execute(
            select(func.count()).select_from(DecisionRow).where(DecisionRow.created_at >= since)
        )
    ).scalar_one()
    reason = func.unnest(DecisionRow.reasons).label("reason")
    inner = select(reason, DecisionRow.outcome).where(DecisionRow.created_at >= since).subquery()
    rows = await session.execute(
        select(inner.c.reason, inner.c.outcome, func.count()).group_by(
            inner.c.reason, inner.c.outcome
        )
    )
    per: dict[str, dict[str, int]] = {code: {} for code in RULE_CODES}
    for code, outcome, n in rows:
        per.setdefault(code, {})[outcome or "none"] = int(n)
    return {"total": int(total), "rules": per}
