"""Applying the real-time rules (D2) to a money-out operation: gather its signals from the user's
own history in one statement (with the rules in force), let ``qianbao.risk.rules`` decide, and
log the decision. The caller holds the user's limits lock, so two concurrent operations are
judged one after the other (the velocity count sees the first)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, text
from sqlalchemy.dialects.postgresql import UUID

from qianbao.identity.context import IdentityContext
from qianbao.identity.models import Device, SecurityEvent
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.risk.models import DecisionRow, RuleRow
from qianbao.risk.rules import RiskDecision, Rule, Signals, evaluate
from qianbao.wallet.models import WalletTransaction

# What counts as a security change for the rules (the device itself is its own signal).
RECENT_CHANGES = ("password_reset", "phone_changed", "new_device")


class StepUpRequired(DomainError):
    code = "risk.step_up_required"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "This payment needs one more check: confirm it with your passkey, or with the code we "
        "send by SMS, which names the amount and the payee."
    )


class Blocked(DomainError):
    code = "risk.blocked"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "We stopped this payment to protect your account. If it was you, contact customer service."
    )


@dataclass(frozen=True)
class Assessment:
    signals: Signals
    decision: RiskDecision
    decision_id: uuid.UUID
    at: datetime


_SIGNALS = text(
    f"""
    WITH recent AS (
        SELECT amount, created_at FROM {WalletTransaction.__tablename__}
         WHERE user_id = :user_id AND direction = 'out' AND currency = :currency
           AND kind IN ('transfer', 'payment', 'withdrawal')
           AND status IN ('completed', 'pending')
         ORDER BY created_at DESC LIMIT 100
    ), last50 AS (SELECT amount FROM recent ORDER BY created_at DESC LIMIT 50)
    SELECT
      (SELECT count(*) FROM recent WHERE created_at >= :window_start),
      (SELECT CASE WHEN count(*) >= 5
                   THEN percentile_disc(0.5) WITHIN GROUP (ORDER BY amount) END FROM last50),
      (SELECT count(*) FROM recent),
      (SELECT count(*) FROM recent
        WHERE ((extract(hour FROM created_at AT TIME ZONE 'Asia/Shanghai')::int - :hour + 24)
               % 24) IN (0, 1, 23)),
      CASE WHEN CAST(:payee AS uuid) IS NULL THEN false ELSE NOT EXISTS (
          SELECT 1 FROM {WalletTransaction.__tablename__}
           WHERE user_id = :user_id AND direction = 'out' AND counterparty_user_id = :payee
             AND status = 'completed') END,
      (SELECT d.first_seen_at > :recent_start AND EXISTS (
                SELECT 1 FROM {Device.__tablename__} o
                 WHERE o.user_id = :user_id AND o.first_seen_at < d.first_seen_at)
         FROM {Device.__tablename__} d WHERE d.id = :device_id AND d.user_id = :user_id),
      (SELECT kind FROM {SecurityEvent.__tablename__}
        WHERE user_id = :user_id AND created_at > :recent_start
          AND kind = ANY(CAST(:changes AS varchar[]))
        ORDER BY created_at DESC LIMIT 1),
      (SELECT json_agg(json_build_array(code, enabled, action, min_amount, threshold)
                       ORDER BY code) FROM {RuleRow.__tablename__})
    """  # noqa: S608 - table names from the models, values all bound
).bindparams(
    bindparam("user_id", type_=UUID(as_uuid=True)),
    bindparam("payee", type_=UUID(as_uuid=True)),
    bindparam("device_id", type_=UUID(as_uuid=True)),
)


async def assess(
    session: Any,
    ctx: IdentityContext,
    user_id: uuid.UUID,
    *,
    channel: str,
    amount: Money,
    payee_id: uuid.UUID | None,
    device_id: uuid.UUID | None,
    pin_failures: int,
) -> Assessment | None:
    """The rules' decision for this operation (None when the operator switched them off)."""
    cfg = ctx.settings.risk
    if not cfg.rules_enabled:
        return None
    now = clock_of(session).now()
    row = (
        await session.execute(
            _SIGNALS,
            {
                "user_id": user_id,
                "currency": amount.currency,
                "window_start": now - timedelta(seconds=600),
                "hour": now.astimezone(LOCAL_TZ).hour,
                "payee": payee_id,
                "device_id": device_id,
                "recent_start": now - timedelta(hours=cfg.recent_hours),
                "changes": list(RECENT_CHANGES),
            },
        )
    ).one()
    history = int(row[2])
    signals = Signals(
        channel=channel,
        amount=amount.minor,
        exponent=amount.exponent,
        new_device=bool(row[5]),
        new_payee=bool(row[4]),
        recent_out=int(row[0]),
        usual_amount=int(row[1]) if row[1] is not None else None,
        history_count=history,
        hour_used=history == 0 or int(row[3]) > 0,
        recent_change=row[6],
        pin_failures=pin_failures,
    )
    rules = [Rule(*r) for r in (row[7] or [])]
    return Assessment(signals, evaluate(rules, signals), uuid7(), now)


def decision_values(
    a: Assessment,
    user_id: uuid.UUID,
    *,
    channel: str,
    amount: Money,
    counterparty_id: uuid.UUID | None,
    device_id: uuid.UUID | None,
    transaction_id: uuid.UUID | None,
    outcome: str | None = None,
) -> dict[str, Any]:
    return {
        "id": a.decision_id,
        "user_id": user_id,
        "channel": channel,
        "currency": amount.currency,
        "amount": amount.minor,
        "counterparty_id": counterparty_id,
        "device_id": device_id,
        "action": a.decision.action,
        "reasons": list(a.decision.reasons),
        "signals": a.signals.to_json(),
        "transaction_id": transaction_id,
        "outcome": outcome,
        "created_at": a.at,
    }


async def log_refusal(ctx: IdentityContext, values: dict[str, Any]) -> None:
    """A refused operation's decision (a block, or a step-up not yet passed) is kept although the
    request's transaction rolls back: it is written in its own short transaction."""
    async with ctx.db.side_transaction() as side:
        await side.execute(insert(DecisionRow).values(**values))
        await side.commit()


async def log(session: Any, values: dict[str, Any]) -> None:
    await session.execute(insert(DecisionRow).values(**values))


def signals_json(a: Assessment) -> str:
    return json.dumps(a.signals.to_json())
