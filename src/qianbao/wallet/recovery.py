"""Getting money back for a disputed transfer (D4, E9), as wallet services the disputes domain
calls: hold what is still in the recipient's wallet the moment a claim opens, then — when a
supervisor approves a refund — post that hold (partly), take the rest from the operator's loss
account, or release the hold. Each movement is its own balanced ledger entry, with a history row
for each party."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from qianbao.identity.models import User
from qianbao.identity.phones import mask_name, mask_phone
from qianbao.kernel.clock import clock_of
from qianbao.kernel.ids import uuid7
from qianbao.ledger import CreateHold, Ledger, PostHold, VoidHold, transfer
from qianbao.ledger import accounts as ledger_accounts
from qianbao.ledger.accounts import system_account_id
from qianbao.ledger.errors import (
    AccountClosed,
    AccountDebitFrozen,
    AccountFrozen,
    InsufficientFunds,
)
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.transfer import new_reference

# Where an approved refund comes from when the recipient no longer has the money: the operator
# bears the loss, visibly, on its own equity account (migration 0020).
LOSS_ACCOUNT = ("equity", "fraud_losses")


@dataclass(frozen=True)
class Held:
    hold_id: uuid.UUID | None
    amount: int  # 0: nothing was left to hold


async def hold_from(
    session: Any,
    *,
    recipient_id: uuid.UUID,
    claimant_id: uuid.UUID,
    currency: str,
    up_to: int,
    key: str,
) -> Held:
    """Hold up to ``up_to`` of the recipient's available money for the claimant. The ledger
    serialises this with the recipient's own payments: if they spend at the same instant, either
    the hold was first, or it holds what was left after them (and says how much)."""
    ledger = await Ledger.of_session(session)
    source = await wallet_account(session, recipient_id, currency)
    target = await wallet_account(session, claimant_id, currency)
    for attempt in range(5):
        account = await ledger_accounts.get_account(ledger.conn, source.id) if attempt else source
        available = account.available
        amount = min(up_to, max(0, available))
        if amount == 0:
            return Held(None, 0)
        try:
            hold = await ledger.hold(
                CreateHold(
                    key=f"{key}:{attempt}",
                    debit_account_id=source.id,
                    credit_account_id=target.id,
                    amount=amount,
                    currency=currency,
                    entry_type="dispute_recovery",
                    metadata={"claim": key},
                    recovery=True,  # a recipient frozen by the agents is held all the same
                )
            )
        except InsufficientFunds:  # spent between our read and the hold: read again
            continue
        except (AccountFrozen, AccountDebitFrozen, AccountClosed):
            # A closed recipient account, or a claimant's account frozen for money coming in:
            # the case says 0 was held (and an upheld claim is paid by the loss account).
            return Held(None, 0)
        return Held(hold.hold_id, amount)
    return Held(None, 0)


async def release(session: Any, *, hold_id: uuid.UUID | None, key: str) -> None:
    if hold_id is None:
        return
    ledger = await Ledger.of_session(session)
    await ledger.hold(VoidHold(key=f"{key}:release", hold_id=hold_id, reason="released"))


@dataclass(frozen=True)
class Refunded:
    from_recipient: int
    written_off: int
    transaction_id: uuid.UUID | None  # the claimant's first history row for the money back


async def refund(
    session: Any,
    *,
    claimant_id: uuid.UUID,
    recipient_id: uuid.UUID | None,
    currency: str,
    amount: int,
    hold_id: uuid.UUID | None,
    held: int,
    key: str,
    case_reference: str,
    write_off: bool = True,
) -> Refunded:
    """Give ``amount`` back to the claimant: first from the recipient's held money (the rest of
    that hold is released), then — for an unauthorized transaction, not for a sender's own
    mistake (``write_off=False``) — from the operator's loss account."""
    ledger = await Ledger.of_session(session)
    now = clock_of(session).now()
    claimant = await wallet_account(session, claimant_id, currency)
    from_recipient = min(amount, held) if hold_id is not None else 0
    rows: list[WalletTransaction] = []
    if from_recipient:
        entry = await ledger.post(
            PostHold(
                key=f"{key}:post",
                hold_id=hold_id,  # type: ignore[arg-type]
                amount=from_recipient,
                metadata={"case": case_reference},
                recovery=True,  # the recipient may have been frozen since the hold
            )
        )
        after = {p.account_id: p.balance_after for p in entry.postings}
        source = await wallet_account(session, recipient_id, currency)  # type: ignore[arg-type]
        reference = new_reference(now)
        rows += [
            _row(claimant_id, claimant.id, "in", from_recipient, currency, after[claimant.id],
                 entry.entry_id, reference, case_reference, now, counterparty=recipient_id),
            _row(recipient_id, source.id, "out", from_recipient, currency,  # type: ignore[arg-type]
                 after[source.id], entry.entry_id, reference + "R", case_reference, now,
                 counterparty=claimant_id),
        ]  # fmt: skip
    elif hold_id is not None:
        await release(session, hold_id=hold_id, key=key)
    written_off = amount - from_recipient if write_off else 0
    if written_off:
        loss = await system_account_id(ledger.conn, LOSS_ACCOUNT[0], currency, LOSS_ACCOUNT[1])
        entry = await ledger.post(
            transfer(
                f"{key}:write-off",
                debit_account_id=loss,
                credit_account_id=claimant.id,
                amount=written_off,
                currency=currency,
                entry_type="dispute_write_off",
                metadata={"case": case_reference},
            )
        )
        balance = next(p.balance_after for p in entry.postings if p.account_id == claimant.id)
        rows.append(
            _row(claimant_id, claimant.id, "in", written_off, currency, balance, entry.entry_id,
                 new_reference(now), case_reference, now, counterparty=None)
        )  # fmt: skip
    for row in rows:
        session.add(row)
    await _name_parties(session, rows)
    await session.flush()
    return Refunded(from_recipient, written_off, rows[0].id if rows else None)


def _row(
    user_id: uuid.UUID,
    account_id: int,
    direction: str,
    amount: int,
    currency: str,
    balance_after: int | None,
    entry_id: uuid.UUID | None,
    reference: str,
    case_reference: str,
    now: Any,
    *,
    counterparty: uuid.UUID | None,
) -> WalletTransaction:
    return WalletTransaction(
        id=uuid7(),
        user_id=user_id,
        account_id=account_id,
        kind="refund",
        direction=direction,
        status="completed",
        currency=currency,
        amount=amount,
        balance_after=balance_after,
        counterparty_user_id=counterparty,
        note=None,
        reference=reference,
        entry_id=entry_id,
        details={"case": case_reference},
        created_at=now,
        listed_at=now,
    )


async def _name_parties(session: Any, rows: list[WalletTransaction]) -> None:
    for row in rows:
        if row.counterparty_user_id is None:
            continue
        other = await session.get(User, row.counterparty_user_id)
        if other is not None:
            row.counterparty_name = mask_name(other.real_name)
            row.counterparty_phone = mask_phone(other.phone)


async def send_back(
    session: Any,
    *,
    recipient_id: uuid.UUID,
    sender_id: uuid.UUID,
    currency: str,
    amount: int,
    key: str,
    case_reference: str,
) -> uuid.UUID:
    """The recipient of a mistaken transfer sends it back (with their consent and PIN): one
    transfer entry, a refund row on each side. Returns the sender's history row."""
    ledger = await Ledger.of_session(session)
    now = clock_of(session).now()
    source = await wallet_account(session, recipient_id, currency)
    target = await wallet_account(session, sender_id, currency)
    entry = await ledger.post(
        transfer(
            f"{key}:send-back",
            debit_account_id=source.id,
            credit_account_id=target.id,
            amount=amount,
            currency=currency,
            entry_type="mistaken_return",
            metadata={"case": case_reference},
        )
    )
    after = {p.account_id: p.balance_after for p in entry.postings}
    reference = new_reference(now)
    rows = [
        _row(sender_id, target.id, "in", amount, currency, after[target.id], entry.entry_id,
             reference, case_reference, now, counterparty=recipient_id),
        _row(recipient_id, source.id, "out", amount, currency, after[source.id], entry.entry_id,
             reference + "R", case_reference, now, counterparty=sender_id),
    ]  # fmt: skip
    for row in rows:
        session.add(row)
    await _name_parties(session, rows)
    await session.flush()
    return rows[0].id
