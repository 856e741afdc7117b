"""The worker tasks of budgets: alerts at 80 % and 100 % of a monthly budget.

Which spending row wakes the check:

- a shop payment (and money back from a shop) and a withdrawal that settled (its fee) emit
  ``wallet.transaction_updated`` (``wallet.tasks.TRANSACTION_TOPIC``, with the row's id);
- a transfer emits ``wallet.transfer_completed`` (``wallet.tasks.TOPIC``, with its reference;
  a held transfer emits it when it is let through);
- an exchange's spread (a fee) emits no event: a periodic sweep (every
  ``SWEEP_EVERY_S``) checks the users with budgets who have outgoing rows listed since the
  sweep before (with a margin), which also catches any spending another path wrote quietly.

Each handler only looks at outgoing, completed rows of this month, and only at users who have a
budget in the row's currency (one statement for a whole batch of events): for everyone else a
payment costs the worker one small query. ``budgets.check`` is idempotent (an alert is a unique
row), so a job run twice or a sweep after an event changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, any_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from qianbao.wallet import budgets, insights
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.models_budgets import Budget
from qianbao.wallet.tasks import TOPIC as TRANSFER_TOPIC
from qianbao.wallet.tasks import TRANSACTION_TOPIC
from qianbao.worker import JobContext

TASK = "wallet.check_budgets"
TRANSFER_TASK = "wallet.check_budgets_after_transfer"
SWEEP_TASK = "wallet.sweep_budgets"
SWEEP_EVERY_S = 300.0
SWEEP_LOOKBACK = timedelta(seconds=3 * SWEEP_EVERY_S)  # a late or skipped run is covered


async def after_transaction(ctx: JobContext, payload: dict[str, Any]) -> None:
    await after_transactions(ctx, [(ctx.job_id, payload)])


async def after_transactions(ctx: JobContext, jobs: list[tuple[int, dict[str, Any]]]) -> None:
    ids = []
    for _, payload in jobs:
        try:
            ids.append(uuid.UUID(str(payload.get("transaction_id"))))
        except ValueError:
            continue
    if ids:
        t = WalletTransaction
        where = t.id == any_(bindparam("ids", ids, type_=ARRAY(PgUUID(as_uuid=True))))
        await _check_rows(ctx, where)


async def after_transfer(ctx: JobContext, payload: dict[str, Any]) -> None:
    await after_transfers(ctx, [(ctx.job_id, payload)])


async def after_transfers(ctx: JobContext, jobs: list[tuple[int, dict[str, Any]]]) -> None:
    """The sender's row of each transfer (its reference; the recipient's ends in ``R``)."""
    references = [str(p["reference"]) for _, p in jobs if p.get("reference")]
    if references:
        await _check_rows(ctx, WalletTransaction.reference.in_(references))


async def _check_rows(ctx: JobContext, which: Any) -> None:
    session = ctx.session
    t = WalletTransaction
    since = insights.month_start(insights.this_month(session))
    pairs = (
        await session.execute(
            select(t.user_id, t.currency)
            .distinct()
            .where(
                which,
                t.direction == "out",
                t.status == "completed",
                t.listed_at >= since,
                exists().where(Budget.user_id == t.user_id, Budget.currency == t.currency),
            )
        )
    ).all()
    for user_id, currency in sorted(pairs):
        await budgets.check(session, ctx.services.get("settings"), user_id, currency)


async def sweep(ctx: JobContext) -> None:
    """Users with a budget and outgoing rows listed lately (through the history index, per
    budget holder): check them."""
    session = ctx.session
    now = ctx.clock.now()
    since = max(now - SWEEP_LOOKBACK, insights.month_start(insights.month_of(now)))
    t = WalletTransaction
    pairs = (
        await session.execute(
            select(Budget.user_id, Budget.currency)
            .distinct()
            .where(
                exists().where(
                    and_(
                        t.user_id == Budget.user_id,
                        t.listed_at >= since,
                        t.currency == Budget.currency,
                        t.direction == "out",
                        t.status == "completed",
                    )
                )
            )
        )
    ).all()
    for user_id, currency in sorted(pairs):
        await budgets.check(session, ctx.services.get("settings"), user_id, currency)


def register(registry: Any, settings: Any | None = None) -> None:
    """Register this part's worker tasks (called by ``qianbao.tasks.register_tasks``)."""
    registry.register(
        TASK, after_transaction, subscribes=[TRANSACTION_TOPIC], batch=after_transactions
    )
    registry.register(
        TRANSFER_TASK, after_transfer, subscribes=[TRANSFER_TOPIC], batch=after_transfers
    )
    registry.periodic(SWEEP_TASK, SWEEP_EVERY_S, sweep)
