"""Held transfers (D2): when the risk rules say "hold", the money goes on a ledger hold and the
user is asked "是您本人操作吗? / Was this you?" in the app and by SMS.

- **Yes** needs the code in that SMS (whoever has the password and PIN on a new phone rarely has
  the SIM too): the hold posts, the recipient is credited, both are told.
- **No** needs nothing (cancelling is always safe): the hold is voided, the account frozen (money
  can no longer leave it) and the answer recorded for the risk queue.
- **No answer** within ``risk.hold_answer_minutes``: the worker voids the hold.

This module places the hold and asks; ``held_answers`` takes the answers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from qianbao.identity import otp
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import CodeCooldown, CodeSendLimit
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.ledger import CreateHold, Ledger
from qianbao.notifications import inbox
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.errors import AlreadyAnswered, AnswerTooLate, HeldNotFound
from qianbao.wallet.models import HeldTransfer, WalletTransaction
from qianbao.wallet.recipients import Recipient, payee_label
from qianbao.wallet.risk_checks import Assessment, decision_values, log

DENIED_TOPIC = "wallet.held_denied"
# A ledger hold outlives the question by a day: only the answer (or the worker) ends it.
LEDGER_GRACE = timedelta(days=1)


STATUS_WORDS = {
    "waiting": N_("waiting for your answer"),
    "confirmed": N_("confirmed by you and sent"),
    "denied": N_("cancelled: you said it was not you"),
    "expired": N_("cancelled: no answer in time"),
}


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
    payee = recipient.label
    await inbox.add(
        session,
        user_id=sender.id,
        template="risk.hold_asked",
        params={"amount": amount.text(), "payee": payee},
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
            params={"amount": Money(held.amount, held.currency).text(), "payee": payee},
            context=str(held.id),
        )
    except (CodeCooldown, CodeSendLimit):
        if not quiet:
            raise


async def resend(
    session: Any, ctx: IdentityContext, user: User, held: HeldTransfer, *, ip: str | None
) -> None:
    ensure_answerable(held, clock_of(session).now())
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


def is_answerable(held: HeldTransfer, now: datetime) -> bool:
    return held.status == "waiting" and held.expires_at > now


def ensure_answerable(held: HeldTransfer, now: datetime) -> None:
    """Refuse an answer (or a new code) to a held transfer answered already or too late."""
    if held.status != "waiting":
        raise AlreadyAnswered(status=STATUS_WORDS[held.status])
    if held.expires_at <= now:
        raise AnswerTooLate()


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
    rows = await session.execute(
        select(HeldTransfer.status, func.count())
        .where(HeldTransfer.created_at >= since)
        .group_by(HeldTransfer.status)
    )
    return {status: int(n) for status, n in rows.all()}
