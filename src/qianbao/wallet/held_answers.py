"""The answers to "Was this you?" (``qianbao.wallet.held`` placed the hold and asked): Yes with
the SMS code posts the hold, No voids it and freezes outgoing money, no answer in time voids it.

One answer wins: the answer is a conditional update of the waiting row, so "Yes" and "No" pressed
at once on two phones end with exactly one of them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from qianbao.identity import freeze, otp
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.identity.phones import mask_name, mask_phone
from qianbao.kernel import outbox
from qianbao.kernel.clock import clock_of
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger, PostHold, VoidHold
from qianbao.notifications import inbox, outbox_sealer
from qianbao.notifications import request as request_notification
from qianbao.risk.models import DecisionRow
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.errors import AlreadyAnswered, AnswerTooLate
from qianbao.wallet.held import DENIED_TOPIC, STATUS_WORDS, ensure_answerable, get
from qianbao.wallet.models import HeldTransfer, WalletTransaction
from qianbao.wallet.tasks import TOPIC as TRANSFER_COMPLETED


async def _take(
    session: Any, user_id: uuid.UUID, held_id: uuid.UUID, status: str, ip: str | None
) -> HeldTransfer:
    """Move the waiting row to ``status`` if it is still waiting and in time; else say why."""
    now = clock_of(session).now()
    taken = (
        await session.execute(
            update(HeldTransfer)
            .where(
                HeldTransfer.id == held_id,
                HeldTransfer.user_id == user_id,
                HeldTransfer.status == "waiting",
                HeldTransfer.expires_at > now,
            )
            .values(status=status, answered_at=now, answered_ip=ip)
            .returning(HeldTransfer.id)
        )
    ).first()
    held = await get(session, user_id, held_id)
    await session.refresh(held)
    if taken is None:
        if held.status == "waiting" or held.status == "expired":
            raise AnswerTooLate()
        raise AlreadyAnswered(status=STATUS_WORDS[held.status])
    return held


async def _set_outcome(session: Any, held: HeldTransfer, outcome: str) -> None:
    await session.execute(
        update(DecisionRow).where(DecisionRow.id == held.decision_id).values(outcome=outcome)
    )


async def confirm(
    session: Any,
    ctx: IdentityContext,
    user: User,
    held_id: uuid.UUID,
    *,
    code: str,
    ip: str | None = None,
) -> HeldTransfer:
    """ "Yes, it was me": the code from the SMS, then the hold posts."""
    held = await get(session, user.id, held_id)
    ensure_answerable(held, clock_of(session).now())  # before the code is used up
    await otp.check_code(
        session,
        ctx,
        destination=user.phone,
        purpose="confirm_hold",
        code=code,
        context=str(held.id),
    )
    held = await _take(session, user.id, held_id, "confirmed", ip)
    ledger = await Ledger.of_session(session)
    entry = await ledger.post(PostHold(key=f"held:{held.id}:post", hold_id=held.hold_id))
    now = clock_of(session).now()
    row = await session.get(WalletTransaction, held.transaction_id)
    assert row is not None
    balances = {p.account_id: p.balance_after for p in entry.postings}
    target = await wallet_account(session, held.recipient_id, held.currency)
    row.status, row.entry_id = "completed", entry.entry_id
    row.balance_after, row.listed_at = balances[row.account_id], now
    session.add(
        WalletTransaction(
            user_id=held.recipient_id,
            account_id=target.id,
            kind="transfer",
            direction="in",
            currency=held.currency,
            amount=held.amount,
            balance_after=balances[target.id],
            counterparty_user_id=user.id,
            counterparty_name=mask_name(user.real_name),
            counterparty_phone=mask_phone(user.phone),
            note=held.note,
            reference=row.reference + "R",
            entry_id=entry.entry_id,
            created_at=now,
            listed_at=now,
        )
    )
    held.entry_id = entry.entry_id
    await _set_outcome(session, held, "confirmed")
    await session.flush()
    await outbox.emit(
        session,
        TRANSFER_COMPLETED,
        {
            "reference": row.reference,
            "from_user": str(user.id),
            "to_user": str(held.recipient_id),
            "amount": Money(held.amount, held.currency).to_decimal_string(),
            "currency": held.currency,
        },
    )
    return held


async def deny(
    session: Any, ctx: IdentityContext, user: User, held_id: uuid.UUID, *, ip: str | None = None
) -> HeldTransfer:
    """ "No, it was not me": void the hold, freeze the account."""
    held = await _take(session, user.id, held_id, "denied", ip)
    await _cancel(session, held, "denied")
    await freeze.freeze(
        session,
        ctx,
        user,
        reason="risk: a held payment was not the user's",
        ip=ip,
        outgoing_only=True,  # a refund may still come in
    )
    # The disputes domain opens an unauthorized-transaction case from this event.
    await outbox.emit(
        session,
        DENIED_TOPIC,
        {"user_id": str(user.id), "transaction_id": str(held.transaction_id)},
    )
    return held


async def _cancel(session: Any, held: HeldTransfer, outcome: str) -> None:
    ledger = await Ledger.of_session(session)
    await ledger.hold(VoidHold(key=f"held:{held.id}:void", hold_id=held.hold_id, reason=outcome))
    row = await session.get(WalletTransaction, held.transaction_id)
    assert row is not None
    row.status = "failed"
    row.details = {**row.details, "failure": outcome}
    await _set_outcome(session, held, outcome)
    await session.flush()


async def expire_due(session: Any, settings: Any, *, limit: int = 200) -> int:
    """Cancel the held transfers nobody answered in time (the worker, every minute)."""
    now = clock_of(session).now()
    due = (
        await session.execute(
            select(HeldTransfer)
            .where(HeldTransfer.status == "waiting", HeldTransfer.expires_at <= now)
            .order_by(HeldTransfer.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    count = 0
    for held in list(due):
        held.status, held.answered_at = "expired", now
        await _cancel(session, held, "expired")
        user = await session.get(User, held.user_id)
        if user is not None:
            params = {"amount": Money(held.amount, held.currency).text()}
            await inbox.add(
                session,
                user_id=user.id,
                template="risk.hold_expired",
                params=params,
                link=f"/wallet/held/{held.id}",
                dedup_key=f"held:{held.id}:expired",
            )
            await request_notification(
                session,
                channel="sms",
                to=user.phone,
                template="risk.hold_expired",
                locale=user.locale,
                params=params,
                sealer=outbox_sealer(settings),
            )
        count += 1
    return count
