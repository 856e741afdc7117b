"""Withdrawal to a bound card or bank account (B10).

Request: the fee (the finance console's plan per method, else
settings.payments.withdrawal_fees) and the limits are shown first (``quote``); the user confirms
with the PIN and an SMS code; the amount and the fee are held in the ledger (two holds: amount →
payout clearing, fee → fee revenue). Under the review threshold (per currency, the finance
console's) the withdrawal is approved at once, above it an operator approves or rejects it
with a reason.
Approved withdrawals go to the payout provider from a job, and a periodic job applies what it
says (``qianbao.wallet.payouts``): settled → both holds posted; failed → both voided (nothing
was taken, the fee is not charged); returned after settling → both entries reversed.
Every step is written to the timeline the user follows. Cards bound during a security
cooling-off (new password, phone or device) cannot receive withdrawals until it ends."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from qianbao.identity import otp, security, totp
from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.errors import IdempotencyKeyReused
from qianbao.kernel.logging import get_logger
from qianbao.kernel.money import Money
from qianbao.ledger import CreateHold, Ledger
from qianbao.ledger.accounts import system_account_id
from qianbao.ledger.commands import check_key
from qianbao.ledger.errors import InsufficientFunds
from qianbao.moneyconf import values as moneyconf
from qianbao.risk import restrictions
from qianbao.risk.limits import Decision, Limit
from qianbao.wallet import cards, limits, risk_checks
from qianbao.wallet import withdrawal_steps as steps
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.banks import mask
from qianbao.wallet.business_days import arrival_date
from qianbao.wallet.errors import (
    CardInCoolingOff,
    WithdrawalMethodUnavailable,
    WithdrawalNotFound,
)
from qianbao.wallet.fees import FeeSchedule
from qianbao.wallet.models import BankCard, WalletTransaction, Withdrawal, WithdrawalEvent
from qianbao.wallet.transfer import new_reference

log = get_logger(__name__)


@dataclass(frozen=True)
class Quote:
    card: BankCard
    amount: Money
    fee: int
    total: int
    expected_on: date
    needs_review: bool
    limit: Limit
    decision: Decision


async def fee_schedule(
    session: Any, ctx: IdentityContext, method: str, currency: str
) -> FeeSchedule:
    """The fee in force: the finance console's approved plan, else the settings' rule."""
    found = await moneyconf.plan(session, ctx.settings, f"withdrawal:{method}", currency)
    if found is None:
        raise WithdrawalMethodUnavailable()
    return found.schedule


async def fee_schedules(session: Any, settings: Any, currency: str) -> dict[str, FeeSchedule]:
    """Every withdrawal method's fee in force (for the pages that list them)."""
    found = await moneyconf.plans(session, settings, currency)
    return {
        target.split(":", 1)[1]: plan.schedule
        for target, plan in found.items()
        if target.startswith("withdrawal:") and plan is not None
    }


async def expected_on(session: Any, ctx: IdentityContext, method: str, at: datetime) -> date:
    """The arrival date on the business calendar in force (the finance console's holidays and
    worked weekend days, else the settings')."""
    p = ctx.settings.payments
    calendar = await moneyconf.calendar(session, ctx.settings)
    return arrival_date(
        at,
        p.withdrawal_business_days.get(method, 1),
        holidays=calendar.holidays,
        workdays=calendar.workdays,
        cutoff_hour=p.cutoff_hour,
    )


async def review_threshold(session: Any, ctx: IdentityContext, currency: str) -> int:
    return (await moneyconf.currency(session, ctx.settings, currency)).review_above


async def check_cooling_off(session: Any, ctx: IdentityContext, user: User, card: BankCard) -> None:
    until = await security.cooling_off_until(session, ctx, user.id)
    if until is None:
        return
    started = until - timedelta(hours=ctx.settings.identity.cooling_off_hours)
    if card.created_at >= started:
        raise CardInCoolingOff(until=until.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"))


async def quote(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    card_id: str,
    amount: Money,
    require_funds: bool = False,
) -> Quote:
    """What a withdrawal would cost and when it would arrive. ``require_funds``: refuse at once
    when the balance cannot cover the amount and the fee, or the account is restricted (the
    pages' first step, before an SMS code is sent)."""
    card = await cards.get_card(session, user.id, card_id)
    fee = (await fee_schedule(session, ctx, card.kind, amount.currency)).fee_for(amount.minor)
    if require_funds:
        if await restrictions.active(session, user.id) is not None:
            raise restrictions.AccountRestricted()
        account = await wallet_account(session, user.id, amount.currency)
        if account.available < amount.minor + fee:
            raise InsufficientFunds()
    limit, decision = await limits.allowance(session, user, "withdrawal", amount.currency)
    return Quote(
        card=card,
        amount=amount,
        fee=fee,
        total=amount.minor + fee,
        expected_on=await expected_on(session, ctx, card.kind, clock_of(session).now()),
        needs_review=amount.minor > await review_threshold(session, ctx, amount.currency),
        limit=limit,
        decision=decision,
    )


def code_context(card_id: str, amount: Money) -> str:
    """The SMS code confirms this amount to this card and nothing else."""
    return f"{card_id}|{amount.minor}|{amount.currency}"


async def request_code(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    card_id: str,
    amount: Money,
    ip: str | None,
) -> None:
    card = await cards.get_card(session, user.id, card_id)
    await otp.send_code(
        session,
        ctx,
        destination=user.phone,
        purpose="withdraw",
        ip=ip,
        locale=user.locale,
        params={"amount": f"{amount.to_decimal_string()} {amount.currency}"},
        context=code_context(str(card.id), amount),
    )


def _fingerprint(card_id: str, amount: Money) -> str:
    return hashlib.sha256(f"{card_id}|{amount.minor}|{amount.currency}".encode()).hexdigest()


async def _replay(session: Any, user: User, key: str, fingerprint: str) -> Withdrawal | None:
    existing = (
        await session.execute(
            select(Withdrawal).where(
                Withdrawal.user_id == user.id, Withdrawal.idempotency_key == key
            )
        )
    ).scalar_one_or_none()
    if existing is not None and existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return existing


async def request(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    card_id: str,
    amount: Money,
    pin: str,
    code: str | None,
    key: str,
    authenticator_code: str | None = None,
    device_id: uuid.UUID | None = None,
) -> tuple[Withdrawal, bool]:
    """Ask for a withdrawal; returns (withdrawal, replayed). Nothing is held on any refusal.

    The second factor is the SMS code sent for this amount and card, or — when no SMS can be
    had — a code from the user's authenticator app (``authenticator_code``). The real-time risk
    rules judge it too: that second factor, bound to the amount and the card, is the step-up a
    rule may ask for; a hold sends the withdrawal to an operator's review (its money is held
    in the ledger meanwhile, as every withdrawal's is); a block refuses it."""
    check_key(key)
    fingerprint = _fingerprint(str(card_id), amount)
    replay = await _replay(session, user, key, fingerprint)  # answered at once, without a lock
    if replay is not None:
        return replay, True
    card = await cards.get_card(session, user.id, card_id)
    await check_cooling_off(session, ctx, user, card)
    fee = (await fee_schedule(session, ctx, card.kind, amount.currency)).fee_for(amount.minor)
    # The PIN before any lock: a wrong try is counted on the side pool, and nobody waits for
    # this user's lock while its holder waits for a connection (issue 13, defect 1).
    pin_failures = user.pin_failures  # before this try: a right PIN resets the count
    await identity_pin.verify_pin(session, ctx, user.id, pin)
    await lock_for_transaction(session, f"withdraw:{user.id}")
    replay = await _replay(session, user, key, fingerprint)  # a twin that got the lock first
    if replay is not None:
        return replay, True
    velocity = (ctx.settings.risk.velocity_max, ctx.settings.risk.velocity_window_s)
    await limits.enforce(session, user, "withdrawal", amount, velocity=velocity)
    account = await wallet_account(session, user.id, amount.currency)
    if account.available < amount.minor + fee:  # before the code is used up
        raise InsufficientFunds()
    assessment = await risk_checks.assess(
        session,
        ctx,
        user.id,
        channel="withdrawal",
        amount=amount,
        payee_id=None,
        device_id=device_id,
        pin_failures=pin_failures,
    )
    action = assessment.decision.action if assessment else "allow"
    if assessment is not None and action == "block":
        await risk_checks.log_refusal(
            ctx,
            risk_checks.decision_values(
                assessment, user.id, channel="withdrawal", amount=amount, counterparty_id=None,
                device_id=device_id, transaction_id=None,
            ),
        )  # fmt: skip
        raise risk_checks.Blocked()
    if authenticator_code and not code:
        await totp.confirm_instead_of_sms(session, ctx, user, authenticator_code)
    else:
        await otp.check_code(
            session,
            ctx,
            destination=user.phone,
            purpose="withdraw",
            code=code,
            context=code_context(str(card.id), amount),
        )
    withdrawal = await place(
        session, ctx, user, card, amount, fee, key=key, fingerprint=fingerprint,
        review=action == "hold",
    )  # fmt: skip
    if assessment is not None:
        await risk_checks.log(
            session,
            risk_checks.decision_values(
                assessment, user.id, channel="withdrawal", amount=amount, counterparty_id=None,
                device_id=device_id, transaction_id=withdrawal.transaction_id,
                outcome="passed" if action == "step_up" else None,
            ),
        )  # fmt: skip
    return withdrawal, False


async def place(
    session: Any,
    ctx: IdentityContext,
    user: User,
    card: BankCard,
    amount: Money,
    fee: int,
    *,
    key: str,
    fingerprint: str,
    review: bool = False,
) -> Withdrawal:
    """Hold the amount and the fee and record the withdrawal — after ``request`` has checked
    everything (the demo data uses it directly to seed history). ``review``: an operator looks
    at it whatever the amount (the risk rules held it)."""
    account = await wallet_account(session, user.id, amount.currency)
    now = clock_of(session).now()
    withdrawal_id = uuid.uuid4()
    ledger = await Ledger.of_session(session)
    payout_account = await system_account_id(
        ledger.conn, "bank_clearing", amount.currency, "payout"
    )
    fee_account = await system_account_id(ledger.conn, "fee_revenue", amount.currency)
    meta = {"withdrawal": str(withdrawal_id), "user": str(user.id)}
    amount_hold = await ledger.hold(
        CreateHold(
            key=f"withdrawal:{withdrawal_id}:amount",
            debit_account_id=account.id,
            credit_account_id=payout_account,
            amount=amount.minor,
            currency=amount.currency,
            entry_type="withdrawal",
            metadata=meta,
        )
    )
    fee_hold = None
    if fee:
        fee_hold = await ledger.hold(
            CreateHold(
                key=f"withdrawal:{withdrawal_id}:fee",
                debit_account_id=account.id,
                credit_account_id=fee_account,
                amount=fee,
                currency=amount.currency,
                entry_type="withdrawal_fee",
                metadata=meta,
            )
        )
    row = WalletTransaction(
        user_id=user.id,
        account_id=account.id,
        kind="withdrawal",
        direction="out",
        status="pending",
        currency=amount.currency,
        amount=amount.minor,
        fee=fee,
        reference=new_reference(now),
        details={
            "card": mask(card.last4),
            "bank": card.bank_name,
            "withdrawal_id": str(withdrawal_id),
        },
        created_at=now,
    )
    session.add(row)
    await session.flush()
    needs_review = review or amount.minor > await review_threshold(session, ctx, amount.currency)
    withdrawal = Withdrawal(
        id=withdrawal_id,
        user_id=user.id,
        card_id=card.id,
        transaction_id=row.id,
        method=card.kind,
        currency=amount.currency,
        amount=amount.minor,
        fee=fee,
        status="in_review" if needs_review else "approved",
        amount_hold_id=amount_hold.hold_id,
        fee_hold_id=fee_hold.hold_id if fee_hold else None,
        expected_on=await expected_on(session, ctx, card.kind, now),
        idempotency_key=key,
        fingerprint=fingerprint,
        created_at=now,
        updated_at=now,
    )
    session.add(withdrawal)
    await session.flush()
    await steps.add_event(session, withdrawal, "requested")
    if needs_review:
        await steps.add_event(session, withdrawal, "in_review")
    else:
        await steps.approve_now(session, withdrawal, actor=None)
    return withdrawal


async def get(session: Any, user_id: uuid.UUID, withdrawal_id: str) -> Withdrawal:
    """One of the user's own withdrawals; anyone else's is simply not found."""
    try:
        ident = uuid.UUID(str(withdrawal_id))
    except ValueError:
        raise WithdrawalNotFound() from None
    withdrawal = (
        await session.execute(
            select(Withdrawal).where(Withdrawal.id == ident, Withdrawal.user_id == user_id)
        )
    ).scalar_one_or_none()
    if withdrawal is None:
        raise WithdrawalNotFound()
    return withdrawal


async def timeline(session: Any, withdrawal_id: uuid.UUID) -> list[WithdrawalEvent]:
    rows = await session.execute(
        select(WithdrawalEvent)
        .where(WithdrawalEvent.withdrawal_id == withdrawal_id)
        .order_by(WithdrawalEvent.id)
    )
    return list(rows.scalars())
