"""The suspense queue (F4): statement lines nobody could place, and what an operator does with
each — credit it to a wallet (by the user's reference code or phone number; for an over-limit
credit that is the review's approval), send it back to the payer's account
(``qianbao.banking.refunds``) or book it (bank charges, interest), always with a reason.
Above ``bank.four_eyes_above`` the first operator's action is only a proposal; a second
operator approves (and it is done) or rejects it. Each item is locked while it is decided, so
two operators acting on it at once cannot both move its money: the second is told it is no
longer in suspense."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from qianbao.banking import refunds
from qianbao.banking.errors import (
    BookingUnknown,
    CreditNotPossible,
    LineNotFound,
    LineNotInSuspense,
    NoProposal,
    PayerAccountUnknown,
    ProposalPending,
    ReasonNeeded,
    ReferenceNotFound,
    SameOperator,
    WrongDirection,
)
from qianbao.banking.models import ReceivingAccount, StatementLine
from qianbao.banking.rules import BOOKINGS, REASONS
from qianbao.identity.errors import InvalidPhoneNumber
from qianbao.identity.models import User
from qianbao.identity.phones import normalize_phone
from qianbao.kernel.clock import clock_of
from qianbao.kernel.money import Money
from qianbao.kernel.text import plain_text
from qianbao.ledger import Ledger
from qianbao.ledger import transfer as ledger_transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.wallet.bank_reference import normal_form, owner_of
from qianbao.wallet.bank_topup import BankCredit, CreditRefused, credit


@dataclass(frozen=True)
class Outcome:
    done: bool  # False: proposed, waiting for a second operator
    line: StatementLine


async def queue(session: Any, *, limit: int = 200) -> list[StatementLine]:
    """Items in suspense, oldest first (the oldest is the one a customer waits longest for)."""
    return list(
        (
            await session.execute(
                select(StatementLine)
                .where(StatementLine.status == "suspense")
                .order_by(StatementLine.created_at, StatementLine.line_no)
                .limit(limit)
            )
        ).scalars()
    )


async def totals(session: Any) -> dict[str, tuple[int, int]]:
    """Per currency: (items, amount) in suspense."""
    rows = await session.execute(
        select(StatementLine.currency, func.count(), func.sum(StatementLine.amount))
        .where(StatementLine.status == "suspense")
        .group_by(StatementLine.currency)
    )
    return {c: (int(n), int(s)) for c, n, s in rows}


async def get(session: Any, line_id: str | uuid.UUID, *, lock: bool = False) -> StatementLine:
    try:
        ident = uuid.UUID(str(line_id))
    except ValueError:
        raise LineNotFound() from None
    query = select(StatementLine).where(StatementLine.id == ident)
    if lock:
        query = query.with_for_update()
    line = await session.scalar(query)
    if line is None:
        raise LineNotFound()
    return line


def needs_second_operator(settings: Any, line: StatementLine) -> bool:
    return line.amount > Money.parse(settings.bank.four_eyes_above, line.currency).minor


def _reason(note: str) -> str:
    text = plain_text(note)
    if len(text) < 5:
        raise ReasonNeeded()
    return text[:500]


async def _open_item(session: Any, line_id: str | uuid.UUID) -> StatementLine:
    line = await get(session, line_id, lock=True)
    if line.status != "suspense":
        raise LineNotInSuspense()
    return line


async def find_user(session: Any, who: str) -> uuid.UUID:
    """A user by reference code (spaces and full-width allowed) or phone number."""
    code = normal_form(who).replace(" ", "").replace("-", "")
    user_id = await owner_of(session, code)
    if user_id is not None:
        return user_id
    try:
        phone = normalize_phone(who.strip(), "CN")
    except InvalidPhoneNumber:  # not a phone number either
        raise ReferenceNotFound(code=who.strip()[:40]) from None
    found = await session.scalar(select(User.id).where(User.phone == phone))
    if found is None:
        raise ReferenceNotFound(code=who.strip()[:40])
    return found


async def credit_to_wallet(
    session: Any, settings: Any, line_id: str | uuid.UUID, *, who: str, by: uuid.UUID, note: str
) -> Outcome:
    reason = _reason(note)
    line = await _open_item(session, line_id)
    if line.direction != "credit":
        raise WrongDirection()
    user_id = await find_user(session, who)
    if line.proposal is not None:
        raise ProposalPending()
    action = {"action": "credit", "user_id": str(user_id), "note": reason}
    return await _propose_or_do(session, settings, line, action, by)


async def book(
    session: Any, settings: Any, line_id: str | uuid.UUID, *, booking: str, by: uuid.UUID, note: str
) -> Outcome:
    reason = _reason(note)
    if booking not in BOOKINGS:
        raise BookingUnknown()
    line = await _open_item(session, line_id)
    if line.proposal is not None:
        raise ProposalPending()
    action = {"action": "book", "booking": booking, "note": reason}
    return await _propose_or_do(session, settings, line, action, by)


async def refund(
    session: Any, settings: Any, line_id: str | uuid.UUID, *, by: uuid.UUID, note: str
) -> Outcome:
    """Send money that came in back to the account it came from (in the next payout file)."""
    reason = _reason(note)
    line = await _open_item(session, line_id)
    if line.direction != "credit":
        raise WrongDirection()
    if not line.counterparty_account_sealed:
        raise PayerAccountUnknown()
    if line.proposal is not None:
        raise ProposalPending()
    action = {"action": "refund", "note": reason}
    return await _propose_or_do(session, settings, line, action, by)


async def approve(
    session: Any, settings: Any, line_id: str | uuid.UUID, *, by: uuid.UUID
) -> Outcome:
    line = await _open_item(session, line_id)
    if line.proposal is None:
        raise NoProposal()
    if line.proposed_by == by:
        raise SameOperator()
    proposer = line.proposed_by
    assert proposer is not None
    await _do(session, settings, line, line.proposal, by=proposer, approved_by=by)
    return Outcome(True, line)


async def reject(session: Any, line_id: str | uuid.UUID, *, by: uuid.UUID) -> Outcome:
    line = await _open_item(session, line_id)
    if line.proposal is None:
        raise NoProposal()
    line.proposal, line.proposed_by, line.proposed_at = None, None, None
    await session.flush()
    return Outcome(False, line)


async def _propose_or_do(
    session: Any, settings: Any, line: StatementLine, action: dict[str, Any], by: uuid.UUID
) -> Outcome:
    if needs_second_operator(settings, line):
        line.proposal, line.proposed_by = action, by
        line.proposed_at = clock_of(session).now()
        await session.flush()
        return Outcome(False, line)
    await _do(session, settings, line, action, by=by, approved_by=None)
    return Outcome(True, line)


async def _do(
    session: Any,
    settings: Any,
    line: StatementLine,
    action: dict[str, Any],
    *,
    by: uuid.UUID,
    approved_by: uuid.UUID | None,
) -> None:
    ledger = await Ledger.of_session(session)
    suspense = await system_account_id(ledger.conn, "suspense", line.currency, "bank_transfer")
    if action["action"] == "credit":
        account = await session.get(ReceivingAccount, line.receiving_account_id)
        user_id = uuid.UUID(action["user_id"])
        try:
            tx = await credit(
                session,
                BankCredit(
                    user_id=user_id,
                    amount=Money(line.amount, line.currency),
                    source_account_id=suspense,
                    key=f"bank-match:{line.id}",
                    line_id=line.id,
                    bank_name=account.bank_name if account else "",
                    payer_name=line.counterparty_name,
                    enforce_limits=False,  # the operator's decision is the review
                    entry_type="topup_bank_matched",
                ),
            )
        except CreditRefused as refused:
            raise CreditNotPossible(reason=REASONS.get(refused.reason, refused.reason)) from None
        line.user_id, line.wallet_transaction_id = user_id, tx.id
        line.resolution = "matched"
    elif action["action"] == "refund":
        await refunds.send(session, settings, line)
        line.resolution = "refunded"
    else:
        booking = action["booking"]
        other = await system_account_id(ledger.conn, "equity", line.currency, booking)
        money_in = line.direction == "credit"  # in suspense: money in sits as a credit there
        await ledger.post(
            ledger_transfer(
                f"bank-book:{line.id}",
                debit_account_id=suspense if money_in else other,
                credit_account_id=other if money_in else suspense,
                amount=line.amount,
                currency=line.currency,
                entry_type=booking,
                metadata={"bank_line": str(line.id)},
            )
        )
        line.resolution = booking
    now: datetime = clock_of(session).now()
    line.status, line.resolution_note = "resolved", action["note"]
    line.resolved_by, line.approved_by, line.resolved_at = by, approved_by, now
    line.proposal, line.proposed_by, line.proposed_at = None, None, None
    await session.flush()
