"""Held transfers (D2): when the risk rules say "hold", the money goes on a ledger hold and the
user is asked "是您本人操作吗? / Was this you?" in the app and by SMS.

- **Yes** needs the code in that SMS (whoever has the password and PIN on a new phone rarely has
  the SIM too): the hold posts, the recipient is credited, both are told.
- **No** needs nothing (cancelling is always safe): the hold is voided, the account frozen (money
  can no longer leave it) and the answer recorded for the risk queue.
- **No answer** within ``risk.hold_answer_minutes``: the worker voids the hold.

One answer wins: the answer is a conditional update of the waiting row, so "Yes" and "No" pressed
at once on two phones end with exactly one of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from qianbao.identity import freeze, otp
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import CodeCooldown, CodeSendLimit
from qianbao.identity.models import User
from qianbao.identity.phones import mask_name, mask_phone
from qianbao.kernel import outbox
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.ledger import CreateHold, Ledger, PostHold, VoidHold
from qianbao.notifications import inbox, outbox_sealer
from qianbao.notifications import request as request_notification
from qianbao.risk.models import DecisionRow
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import HeldTransfer, WalletTransaction
from qianbao.wallet.risk_checks import Assessment, decision_values, log
from qianbao.wallet.tasks import TOPIC as TRANSFER_COMPLETED

DENIED_TOPIC = "wallet.held_denied"
# A ledger hold outlives the question by a day: only the answer (or the worker) ends it.
LEDGER_GRACE = timedelta(days=1)


class HeldNotFound(DomainError):
    code = "risk.held_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such payment is waiting for your answer.")


class AlreadyAnswered(DomainError):
    code = "risk.already_answered"
    kind = ErrorKind.CONFLICT
    message = N_("This payment was already answered: {status}.")


class AnswerTooLate(DomainError):
    code = "risk.answer_too_late"
    kind = ErrorKind.CONFLICT
    message = N_("The time to answer has passed: the payment was cancelled and no money moved.")


STATUS_WORDS = {
    "waiting": N_("waiting for your answer"),
    "confirmed": N_("confirmed by you and sent"),
    "denied": N_("cancelled: you said it was not you"),
    "expired": N_("cancelled: no answer in time"),
}


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    masked_name: str
    masked_phone: str


def _money(minor: int, currency: str) -> str:
    return f"{Money(minor, currency).to_decimal_string()} {currency}"


def payee_label(name: str | None, phone: str | None) -> str:
    return " ".join(p for p in (name, phone) if p) or "—"


async def payee_of(session: Any, held: HeldTransfer) -> str:
    row = await session.get(WalletTransaction, held.transaction_id)
    return payee_label(row.counterparty_name, row.counterparty_phone) if row else "—"


async def place(
    session: Any,
    ctx: IdentityContext,
    sender: User,
    recipient: Recipient,
    *,
    amount: Money,
    note: str | None,
    key: str,
    ledger_key: str,
    reference: str,
    assessment: Assessment,
    device_id: uuid.UUID | None,
) -> HeldTransfer:
    """Hold the money, write the sender's pending row, the decision and the question."""
    now = clock_of(session).now()
    expires = now + timedelta(minutes=ctx.settings.risk.hold_answer_minutes)
    ledger = await Ledger.of_session(session)
    source = await wallet_account(session, sender.id, amount.currency)
    target = await wallet_account(session, recipient.user_id, amount.currency)
    hold = await ledger.hold(
        CreateHold(
            key=ledger_key,
            debit_account_id=source.id,
            credit_account_id=target.id,
            amount=amount.minor,
            currency=amount.currency,
            entry_type="p2p_transfer",
            metadata={
                "from_user": str(sender.id),
                "to_user": str(recipient.user_id),
                "note": note or "",
                "held": "risk",
            },
            expires_at=expires + LEDGER_GRACE,
        )
    )
    held_id, tx_id = uuid7(), uuid7()
    session.add(
        WalletTransaction(
            id=tx_id,
            user_id=sender.id,
            account_id=source.id,
            kind="transfer",
            direction="out",
            status="pending",
            currency=amount.currency,
            amount=amount.minor,
            counterparty_user_id=recipient.user_id,
            counterparty_name=recipient.masked_name,
            counterparty_phone=recipient.masked_phone,
            note=note,
            reference=reference,
            details={"held_id": str(held_id)},
            created_at=now,
        )
    )
    held = HeldTransfer(
        id=held_id,
        user_id=sender.id,
        recipient_id=recipient.user_id,
        transaction_id=tx_id,
        decision_id=assessment.decision_id,
        hold_id=hold.hold_id,
        currency=amount.currency,
        amount=amount.minor,
        note=note,
        idempotency_key=key,
        status="waiting",
        created_at=now,
        expires_at=expires,
    )
    session.add(held)
    await session.flush()
    await log(
        session,
        decision_values(
            assessment,
            sender.id,
            channel="transfer",
            amount=amount,
            counterparty_id=recipient.user_id,
            device_id=device_id,
            transaction_id=tx_id,
        ),
    )
    payee = payee_label(recipient.masked_name, recipient.masked_phone)
    await inbox.add(
        session,
        user_id=sender.id,
        template="risk.hold_asked",
        params={"amount": _money(amount.minor, amount.currency), "payee": payee},
        link=f"/wallet/held/{held.id}",
        dedup_key=f"held:{held.id}:asked",
    )
    await send_code(session, ctx, sender, held, payee=payee, quiet=True)
    return held


async def send_code(
    session: Any,
    ctx: IdentityContext,
    user: User,
    held: HeldTransfer,
    *,
    payee: str,
    quiet: bool = False,
    ip: str | None = None,
) -> None:
    """The SMS that asks "Was this you?" and carries the code for Yes (again on request).
    ``quiet``: a send limit does not fail the transfer (the page offers to send it again)."""
    try:
        await otp.send_code(
            session,
            ctx,
            destination=user.phone,
            purpose="confirm_hold",
            ip=ip,
            locale=user.locale,
            params={"amount": _money(held.amount, held.currency), "payee": payee},
            context=str(held.id),
        )
    except (CodeCooldown, CodeSendLimit):
        if not quiet:
            raise


async def resend(
    session: Any, ctx: IdentityContext, user: User, held: HeldTransfer, *, ip: str | None
) -> None:
    if held.status != "waiting":
        raise AlreadyAnswered(status=STATUS_WORDS[held.status])
    if held.expires_at <= clock_of(session).now():
        raise AnswerTooLate()
    await send_code(session, ctx, user, held, payee=await payee_of(session, held), ip=ip)


async def get(session: Any, user_id: uuid.UUID, held_id: uuid.UUID) -> HeldTransfer:
    held = await session.get(HeldTransfer, held_id)
    if held is None or held.user_id != user_id:
        raise HeldNotFound()
    return held


async def by_key(session: Any, user_id: uuid.UUID, key: str) -> HeldTransfer | None:
    return (
        await session.execute(
            select(HeldTransfer).where(
                HeldTransfer.user_id == user_id, HeldTransfer.idempotency_key == key
            )
        )
    ).scalar_one_or_none()


async def waiting(session: Any, user_id: uuid.UUID) -> list[HeldTransfer]:
    now = clock_of(session).now()
    rows = await session.execute(
        select(HeldTransfer)
        .where(
            HeldTransfer.user_id == user_id,
            HeldTransfer.status == "waiting",
            HeldTransfer.expires_at > now,
        )
        .order_by(HeldTransfer.created_at)
    )
    return list(rows.scalars())


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
    if held.status != "waiting":
        raise AlreadyAnswered(status=STATUS_WORDS[held.status])
    if held.expires_at <= clock_of(session).now():
        raise AnswerTooLate()
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
    recipient = await session.get(User, held.recipient_id)
    assert recipient is not None
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
            params = {"amount": _money(held.amount, held.currency)}
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


def is_answerable(held: HeldTransfer, now: datetime) -> bool:
    return held.status == "waiting" and held.expires_at > now


async def recent(session: Any, *, statuses: tuple[str, ...], limit: int = 50) -> list[HeldTransfer]:
    """For the risk queue: held transfers in these states, newest first."""
    rows = await session.execute(
        select(HeldTransfer)
        .where(HeldTransfer.status.in_(statuses))
        .order_by(HeldTransfer.created_at.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def answers_since(session: Any, since: datetime) -> dict[str, int]:
    """For the reports: held transfers since ``since`` by how they ended."""
    from sqlalchemy import func

    rows = await session.execute(
        select(HeldTransfer.status, func.count())
        .where(HeldTransfer.created_at >= since)
        .group_by(HeldTransfer.status)
    )
    return {status: int(n) for status, n in rows.all()}
