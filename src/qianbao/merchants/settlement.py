"""Settlement (F1): each business day a merchant's settled balance is paid out to its bank
account through the payout rail (T+N business days, settings.merchants), as one payout that
lists the payments, refunds and fees it pays for (their ``settlement_id``).

A payment of day D is paid on the N-th business day after D. The run on a business day takes
every payment and refund up to the last day due, sums them (payments' price − fee, minus
refunds' amount − fee returned) and, when the sum is positive and the balance holds it, holds
it on the merchant's account and instructs the payout; the payout settling posts the hold, a
failing one voids it and frees its lines for the next run. A negative day (more refunds than
sales) waits for later sales."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update

from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.logging import get_logger
from qianbao.kernel.outbox import emit
from qianbao.ledger import CreateHold, Ledger, PostHold, Reverse, VoidHold
from qianbao.ledger.accounts import system_account_id
from qianbao.merchants import events
from qianbao.merchants.accounts import CURRENCY, balance_of, gather, money_lock
from qianbao.merchants.errors import PaymentNotFound
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import Payment, Refund, Settlement
from qianbao.merchants.onboarding import reveal_settlement_number
from qianbao.moneyconf import values as moneyconf
from qianbao.rails import PayoutInstruction, PayoutProvider
from qianbao.rails.payouts import PayoutStatus
from qianbao.wallet.business_days import is_business_day

log = get_logger(__name__)
SUBMIT_TOPIC = "merchants.settlement_created"  # the payout is instructed by a job (``submit``)


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[date]
    workdays: frozenset[date]
    delay: int

    @classmethod
    def of(cls, settings: Any, days: Any = None) -> Calendar:
        """``days``: the business calendar in force (``moneyconf.values.calendar``); without
        it, the settings' lists."""
        p = settings.payments
        return cls(
            frozenset(days.holidays if days is not None else p.holidays),
            frozenset(days.workdays if days is not None else p.workdays),
            settings.merchants.settlement_delay_business_days,
        )

    def business(self, day: date) -> bool:
        return is_business_day(day, self.holidays, self.workdays)

    def pay_on(self, day: date) -> date:
        """The N-th business day after ``day`` (``day`` itself when N is 0 and it is one)."""
        if self.delay == 0:
            while not self.business(day):
                day += timedelta(days=1)
            return day
        for _ in range(self.delay):
            day += timedelta(days=1)
            while not self.business(day):
                day += timedelta(days=1)
        return day

    def last_day_due(self, today: date) -> date | None:
        """The last day whose payments are due today (None if today pays nothing)."""
        if not self.business(today):
            return None
        day = today - timedelta(days=0 if self.delay == 0 else 1)
        for _ in range(60):
            if self.pay_on(day) <= today:
                return day
            day -= timedelta(days=1)
        return None


def _cutoff(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=LOCAL_TZ)


async def run(session: Any, settings: Any, provider: PayoutProvider) -> int:
    """Settle every merchant due today; returns how many payouts were instructed."""
    now = clock_of(session).now()
    cal = Calendar.of(settings, await moneyconf.calendar(session, settings))
    today = now.astimezone(LOCAL_TZ).date()
    last = cal.last_day_due(today)
    if last is None:
        return 0
    cutoff = _cutoff(last)
    due = (
        select(Payment.merchant_id)
        .where(
            Payment.status == "succeeded",
            Payment.settlement_id.is_(None),
            Payment.succeeded_at < cutoff,
        )
        .union(
            select(Refund.merchant_id).where(
                Refund.status == "succeeded",
                Refund.settlement_id.is_(None),
                Refund.created_at < cutoff,
            )
        )
    )
    made = 0
    for (merchant_id,) in (await session.execute(due)).all():
        merchant = (
            await session.execute(
                select(Merchant).where(Merchant.id == merchant_id).with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if merchant is None or merchant.status not in ("active", "suspended", "closed"):
            continue
        try:
            # Each merchant on its own: one that fails (its account number unreadable, the
            # ledger busy) leaves the others' settlements in place.
            async with session.begin_nested():
                if await _settle_one(session, settings, merchant, last, today, cutoff, now):
                    made += 1
        except Exception as exc:
            log.warning("merchant_settlement_failed", merchant_id=str(merchant.id), error=str(exc))
    return made


async def _settle_one(
    session: Any,
    settings: Any,
    merchant: Merchant,
    last: date,
    today: date,
    cutoff: datetime,
    now: datetime,
) -> bool:
    pay_rows = (
        Payment.merchant_id == merchant.id,
        Payment.status == "succeeded",
        Payment.settlement_id.is_(None),
        Payment.succeeded_at < cutoff,
    )
    refund_rows = (
        Refund.merchant_id == merchant.id,
        Refund.status == "succeeded",
        Refund.settlement_id.is_(None),
        Refund.created_at < cutoff,
    )
    p = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Payment.amount), 0),
                func.coalesce(func.sum(Payment.fee), 0),
            ).where(*pay_rows)
        )
    ).one()
    r = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Refund.amount), 0),
                func.coalesce(func.sum(Refund.fee_returned), 0),
            ).where(*refund_rows)
        )
    ).one()
    gross, fees, refunded, fees_back = int(p[1]), int(p[2]), int(r[1]), int(r[2])
    net = (gross - fees) - (refunded - fees_back)
    if net <= 0 or (await balance_of(session, merchant.id, CURRENCY)).available < net:
        return False
    settlement = Settlement(
        id=uuid7(),
        merchant_id=merchant.id,
        currency=CURRENCY,
        business_date=last,
        pay_on=today,
        payments_count=int(p[0]),
        refunds_count=int(r[0]),
        gross=gross,
        refunds=refunded,
        fees=fees - fees_back,
        net=net,
        status="created",
        created_at=now,
    )
    session.add(settlement)
    await session.flush()
    await session.execute(update(Payment).where(*pay_rows).values(settlement_id=settlement.id))
    await session.execute(update(Refund).where(*refund_rows).values(settlement_id=settlement.id))
    # The payout is held on the main account, after its shards are gathered there (the money
    # lock after the rows above, in the order a refund takes them).
    await money_lock(session, merchant.id)
    account = await gather(session, merchant.id, CURRENCY)
    ledger = await Ledger.of_session(session)
    clearing = await system_account_id(ledger.conn, "bank_clearing", CURRENCY, "payout")
    hold = await ledger.hold(
        CreateHold(
            key=f"merchant-settlement:{settlement.id}",
            debit_account_id=account.id,
            credit_account_id=clearing,
            amount=net,
            currency=CURRENCY,
            entry_type="merchant_settlement",
            metadata={"settlement_id": str(settlement.id), "merchant_id": str(merchant.id)},
        )
    )
    settlement.hold_id = hold.hold_id
    await session.flush()
    # The instruction leaves only after this commits (a job keyed by the settlement's id), so
    # a rolled-back run never pays anybody.
    await emit(session, SUBMIT_TOPIC, {"settlement_id": str(settlement.id)})
    return True


async def submit(session: Any, settings: Any, provider: PayoutProvider, settlement_id: str) -> None:
    """Instruct the payout of a committed settlement (a job; the reference ``S<id>`` makes a
    second instruction of the same payout the same payout at the rail)."""
    row = (
        await session.execute(
            select(Settlement).where(Settlement.id == uuid.UUID(settlement_id)).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.status != "created":
        return
    merchant = (
        await session.execute(select(Merchant).where(Merchant.id == row.merchant_id))
    ).scalar_one()
    ref = await provider.submit(
        session,
        PayoutInstruction(
            reference=f"S{row.id}",
            amount=row.net,
            currency=row.currency,
            account_kind=merchant.settlement_kind,
            account_number=reveal_settlement_number(settings, merchant),
            holder_name=merchant.settlement_holder,
            bank_name=merchant.settlement_bank_name,
        ),
    )
    row.status, row.provider, row.provider_ref = "submitted", provider.name, ref
    await session.flush()


async def submit_created(session: Any, settings: Any, provider: PayoutProvider) -> int:
    """Instruct every settlement still waiting (the demo data; a catch-up after an outage)."""
    ids = (
        await session.execute(select(Settlement.id).where(Settlement.status == "created"))
    ).scalars()
    done = 0
    for settlement_id in list(ids):
        await submit(session, settings, provider, str(settlement_id))
        done += 1
    return done


RETURN_WINDOW = timedelta(days=30)  # a bank may send a paid payout back this long after


async def poll(session: Any, provider: PayoutProvider, *, limit: int = 200) -> int:
    """Apply what the payout rail says: submitted payouts settle (the hold is posted) or fail
    (voided, their lines go to the next run); a payout sent back by the bank, before or after it
    settled, is ``returned``: the money goes back to the merchant's balance (the hold voided or
    the posted entry reversed) and its lines to the next run."""
    now = clock_of(session).now()
    rows = list(
        (
            await session.execute(
                select(Settlement)
                .where(
                    Settlement.provider == provider.name,
                    (Settlement.status == "submitted")
                    | ((Settlement.status == "paid") & (Settlement.paid_at > now - RETURN_WINDOW)),
                )
                .order_by((Settlement.status == "submitted").desc(), Settlement.created_at)
                .with_for_update(skip_locked=True)
                .limit(limit)
            )
        ).scalars()
    )
    changed = 0
    for row in rows:
        assert row.provider_ref is not None
        if await _apply(session, row, await provider.status(session, row.provider_ref), now):
            changed += 1
    return changed


async def apply_provider_news(
    session: Any, provider: str, provider_ref: str, news: PayoutStatus
) -> int:
    """What the bank said about one settlement's payout (a status report, a statement line),
    applied at once instead of at the next run's poll. Returns the steps taken (0 or 1)."""
    row = (
        await session.execute(
            select(Settlement)
            .where(Settlement.provider == provider, Settlement.provider_ref == provider_ref)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        return 0
    return int(await _apply(session, row, news, clock_of(session).now()))


async def _apply(session: Any, row: Settlement, status: PayoutStatus, now: Any) -> bool:
    assert row.hold_id is not None
    ledger = await Ledger.of_session(session)
    if row.status == "submitted" and status.state == "settled":
        entry = await ledger.post(
            PostHold(key=f"merchant-settlement-paid:{row.id}", hold_id=row.hold_id)
        )
        row.status, row.paid_at, row.entry_id = "paid", now, entry.entry_id
    elif row.status == "submitted" and status.state in ("failed", "returned"):
        await ledger.hold(VoidHold(key=f"merchant-settlement-void:{row.id}", hold_id=row.hold_id))
        row.status = "failed" if status.state == "failed" else "returned"
        row.failure = (status.reason or "")[:200]
        await _free_lines(session, row)
    elif row.status == "paid" and status.state == "returned":
        assert row.entry_id is not None
        await ledger.post(Reverse(f"merchant-settlement-return:{row.id}", row.entry_id))
        row.status, row.failure = "returned", (status.reason or "")[:200]
        await _free_lines(session, row)
    else:
        return False
    await session.flush()
    await events.payout_finished(session, row, now)
    return True


async def _free_lines(session: Any, row: Settlement) -> None:
    """The payments and refunds of a payout that did not reach the bank go to the next run."""
    await session.execute(
        update(Payment).where(Payment.settlement_id == row.id).values(settlement_id=None)
    )
    await session.execute(
        update(Refund).where(Refund.settlement_id == row.id).values(settlement_id=None)
    )


async def list_settlements(
    session: Any, merchant_id: uuid.UUID, limit: int = 100
) -> list[Settlement]:
    return list(
        (
            await session.execute(
                select(Settlement)
                .where(Settlement.merchant_id == merchant_id)
                .order_by(Settlement.created_at.desc())
                .limit(limit)
            )
        ).scalars()
    )


async def get_settlement(session: Any, merchant_id: uuid.UUID, settlement_id: str) -> Settlement:
    try:
        row = await session.get(Settlement, uuid.UUID(str(settlement_id)))
    except ValueError:
        row = None
    if row is None or row.merchant_id != merchant_id:
        raise PaymentNotFound()
    return row


async def lines(session: Any, settlement: Settlement) -> tuple[list[Payment], list[Refund]]:
    """The payments and refunds a payout pays for (the report's lines)."""
    pays = list(
        (
            await session.execute(
                select(Payment)
                .where(Payment.settlement_id == settlement.id)
                .order_by(Payment.succeeded_at)
            )
        ).scalars()
    )
    refs = list(
        (
            await session.execute(
                select(Refund)
                .where(Refund.settlement_id == settlement.id)
                .order_by(Refund.created_at)
            )
        ).scalars()
    )
    return pays, refs
