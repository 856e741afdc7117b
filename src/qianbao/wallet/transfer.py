"""Transfers between users (B7): to a phone number or a user id, with the recipient's masked
name shown before the PIN, an optional note, an idempotency key, and both parties' wallet rows
written in the same transaction as the ledger entry."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import AccountFrozen, InvalidPhoneNumber
from qianbao.identity.models import User
from qianbao.identity.phones import mask_name, mask_phone, normalize_phone
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger
from qianbao.ledger import transfer as ledger_transfer
from qianbao.ledger.commands import check_key
from qianbao.ledger.errors import InsufficientFunds
from qianbao.wallet import held as held_transfers
from qianbao.wallet import limits, risk_checks, step_up
from qianbao.wallet.accounts import available, wallet_accounts
from qianbao.wallet.errors import CannotPaySelf, NoteTooLong, RecipientNotFound
from qianbao.wallet.models import HeldTransfer as WalletHeld
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.recipients import Recipient
from qianbao.wallet.tasks import TOPIC as TRANSFER_COMPLETED

MAX_NOTE = 50

WRITE_TRANSFER_ROWS = """
WITH rows AS (
  INSERT INTO wallet_transactions (id, user_id, account_id, kind, direction, currency, amount,
                                   balance_after, counterparty_user_id, counterparty_name,
                                   counterparty_phone, note, reference, entry_id, created_at,
                                   listed_at)
  SELECT id, user_id, account_id, 'transfer', direction, $10, $11, balance_after, party,
         party_name, party_phone, $12, reference, $13, $14, $14
    FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::bigint[], $6::uuid[],
                $7::text[], $8::text[], $9::text[])
         AS t(id, user_id, account_id, direction, balance_after, party, party_name, party_phone,
              reference)
), decision AS (
  INSERT INTO risk_decisions (id, user_id, channel, currency, amount, counterparty_id, device_id,
                              action, reasons, signals, transaction_id, outcome, created_at)
  SELECT $17, $2[1], 'transfer', $10, $11, $2[2], $18, $19, $20::varchar[], $21::jsonb, $1[1],
         $22, $14
   WHERE $17::uuid IS NOT NULL
)
INSERT INTO outbox_messages (topic, payload) VALUES ($15, $16::jsonb)
"""


@dataclass(frozen=True)
class TransferDone:
    transaction_id: uuid.UUID  # the sender's wallet transaction (history detail)
    reference: str
    entry_id: uuid.UUID
    amount: Money
    recipient: Recipient
    note: str | None
    balance_after: int
    created_at: datetime
    replayed: bool
    status: str = "completed"  # or "pending": held by the risk rules (``held_id``)
    held_id: uuid.UUID | None = None


def new_reference(now: datetime) -> str:
    """A reference number people can read out to support: the date on their calendar (China
    time, as the history shows it) + 10 random digits."""
    return now.astimezone(LOCAL_TZ).strftime("%Y%m%d") + f"{secrets.randbelow(10**10):010d}"


async def find_recipient(session: Any, ctx: IdentityContext, sender: User, to: str) -> Recipient:
    """Look up the recipient by phone number or user id; refuse unknown ones and oneself."""
    key: uuid.UUID | str
    try:
        query, key = _RECIPIENT_BY_ID, uuid.UUID(to)
    except ValueError:
        try:
            query, key = (
                _RECIPIENT_BY_PHONE,
                normalize_phone(to, ctx.settings.identity.default_region),
            )
        except InvalidPhoneNumber:
            raise RecipientNotFound() from None
    # Four columns, not a whole ORM user: this is on the transfer hot path.
    row = (await session.execute(query, {"key": key})).first()
    if row is None or row.role != "user":
        raise RecipientNotFound()
    if row.id == sender.id:
        raise CannotPaySelf()
    return Recipient(
        user_id=row.id,
        masked_name=mask_name(row.real_name) or "",
        masked_phone=mask_phone(row.phone),
    )


async def precheck(session: Any, sender: User, amount: Money) -> None:
    """What can be told before the PIN: a frozen account, an amount over the available balance
    or over a limit. Nothing is locked or moved; ``send`` checks all of it again."""
    if sender.frozen_at is not None:
        raise AccountFrozen()
    balance = await available(session, sender.id, amount.currency)
    if amount.minor > balance:
        raise InsufficientFunds()
    await limits.check(session, sender, "transfer", amount)


def step_up_context(payee_id: uuid.UUID, amount: Money) -> str:
    """A step-up confirms this amount to this payee and nothing else (dynamic linking)."""
    return step_up.bound_to("transfer", payee_id, amount)


async def request_step_up_code(
    session: Any, ctx: IdentityContext, sender: User, *, to: str, amount: Money, ip: str | None
) -> Recipient:
    """Send the SMS code for a transfer the risk rules want confirmed; the message names the
    amount and the payee, and the code works only for them."""
    recipient = await find_recipient(session, ctx, sender, to)
    await step_up.send_code(
        session,
        ctx,
        sender,
        bound=step_up_context(recipient.user_id, amount),
        amount=amount,
        payee_label=recipient.label,
        ip=ip,
    )
    return recipient


async def step_up_passkey_options(
    session: Any, ctx: IdentityContext, sender: User, *, to: str, amount: Money
) -> dict[str, Any]:
    """WebAuthn options whose challenge carries this transfer's amount and payee."""
    recipient = await find_recipient(session, ctx, sender, to)
    return await step_up.passkey_options(
        session, ctx, sender, bound=step_up_context(recipient.user_id, amount)
    )


_RECIPIENT = select(User.id, User.role, User.real_name, User.phone)
_RECIPIENT_BY_ID = _RECIPIENT.where(User.id == bindparam("key"))
_RECIPIENT_BY_PHONE = _RECIPIENT.where(User.phone == bindparam("key"))


async def send(
    session: Any,
    ctx: IdentityContext,
    sender: User,
    *,
    to: str,
    amount: Money,
    note: str | None,
    pin: str,
    key: str,
    device_id: uuid.UUID | None = None,
    proof: step_up.Proof | None = None,
) -> TransferDone:
    """Move ``amount`` from the sender's wallet to the recipient's. The PIN is checked first
    (wrong tries count even though the transfer fails); then the limits and the real-time risk
    rules (which may ask for a step-up code, hold the money until the user answers "Was this
    you?", or refuse); the ledger refuses frozen accounts and insufficient funds; a replay of the
    same key returns the first transfer."""
    check_key(key)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise NoteTooLong()
    recipient = await find_recipient(session, ctx, sender, to)
    ledger_key = f"p2p:{sender.id}:{key}"
    ledger = await Ledger.of_session(session)
    # The PIN before any lock: a wrong try is counted on the side pool, and a request never
    # waits for the limits' lock while the holder waits for a connection (issue 13, defect 1).
    pin_failures = sender.pin_failures  # before this try: a right PIN resets the count
    await identity_pin.verify_pin_in_transaction(session, ctx, sender, pin)
    assessment = None
    if not await ledger.has_command(ledger_key):  # a replay was judged the first time
        risk = ctx.settings.risk
        await limits.enforce(
            session,
            sender,
            "transfer",
            amount,
            velocity=(risk.velocity_max, risk.velocity_window_s),
        )
        assessment = await risk_checks.assess(
            session,
            ctx,
            sender.id,
            channel="transfer",
            amount=amount,
            payee_id=recipient.user_id,
            device_id=device_id,
            pin_failures=pin_failures,
        )
    else:
        held = await held_transfers.by_key(session, sender.id, key)
        if held is not None:
            return await _held_done(session, held, amount, recipient, replayed=True)
    outcome = None
    if assessment is not None and assessment.decision.action != "allow":
        action = assessment.decision.action
        values = risk_checks.decision_values(
            assessment,
            sender.id,
            channel="transfer",
            amount=amount,
            counterparty_id=recipient.user_id,
            device_id=device_id,
            transaction_id=None,
        )
        if action == "hold":
            reference = new_reference(clock_of(session).now())
            held = await held_transfers.place(
                session,
                ctx,
                sender,
                recipient,
                amount=amount,
                note=note,
                key=key,
                ledger_key=ledger_key,
                reference=reference,
                assessment=assessment,
                device_id=device_id,
            )
            return await _held_done(session, held, amount, recipient, replayed=False)
        outcome = await step_up.required(
            session,
            ctx,
            sender,
            values,
            proof,
            bound=step_up_context(recipient.user_id, amount),
        )
    source, target = await wallet_accounts(
        session, [(sender.id, amount.currency), (recipient.user_id, amount.currency)]
    )
    entry = await ledger.post(
        ledger_transfer(
            ledger_key,
            debit_account_id=source.id,
            credit_account_id=target.id,
            amount=amount.minor,
            currency=amount.currency,
            entry_type="p2p_transfer",
            metadata={
                "from_user": str(sender.id),
                "to_user": str(recipient.user_id),
                "note": note or "",
            },
        )
    )
    sender_balance = next(p.balance_after for p in entry.postings if p.account_id == source.id)
    if entry.replayed:
        row = (
            await session.execute(
                select(WalletTransaction).where(
                    WalletTransaction.entry_id == entry.entry_id,
                    WalletTransaction.user_id == sender.id,
                )
            )
        ).scalar_one()
        return TransferDone(
            transaction_id=row.id,
            reference=row.reference,
            entry_id=entry.entry_id,
            amount=amount,
            recipient=recipient,
            note=row.note,
            balance_after=row.balance_after or 0,
            created_at=row.created_at,
            replayed=True,
        )
    # The session's clock is the ledger's (a seeder's in the past): row, reference and entry
    # agree on the time.
    now = clock_of(session).now()
    reference = new_reference(now)
    recipient_balance = next(p.balance_after for p in entry.postings if p.account_id == target.id)
    transaction_id = uuid7()
    event = {
        "reference": reference,
        "from_user": str(sender.id),
        "to_user": str(recipient.user_id),
        "amount": amount.to_decimal_string(),
        "currency": amount.currency,
    }
    # Both parties' rows and the outbox event in one statement on the ledger's connection (the
    # same transaction): the hot path cannot afford the ORM's unit of work. No NOTIFY: it
    # serialises commits, and the relay picks the event up within its poll interval.
    await ledger.conn.execute(
        WRITE_TRANSFER_ROWS,
        [transaction_id, uuid7()],
        [sender.id, recipient.user_id],
        [source.id, target.id],
        ["out", "in"],
        [sender_balance, recipient_balance],
        [recipient.user_id, sender.id],
        [recipient.masked_name, mask_name(sender.real_name)],
        [recipient.masked_phone, mask_phone(sender.phone)],
        [reference, reference + "R"],
        amount.currency,
        amount.minor,
        note,
        entry.entry_id,
        now,
        TRANSFER_COMPLETED,
        json.dumps(event),
        assessment.decision_id if assessment else None,
        device_id,
        assessment.decision.action if assessment else None,
        list(assessment.decision.reasons) if assessment else None,
        risk_checks.signals_json(assessment) if assessment else None,
        outcome,
    )
    return TransferDone(
        transaction_id=transaction_id,
        reference=reference,
        entry_id=entry.entry_id,
        amount=amount,
        recipient=recipient,
        note=note,
        balance_after=sender_balance,
        created_at=now,
        replayed=False,
    )


async def _held_done(
    session: Any,
    held: WalletHeld,
    amount: Money,
    recipient: Recipient,
    *,
    replayed: bool,
) -> TransferDone:
    row = await session.get(WalletTransaction, held.transaction_id)
    return TransferDone(
        transaction_id=held.transaction_id,
        reference=row.reference,
        entry_id=held.entry_id or held.hold_id,
        amount=amount,
        recipient=recipient,
        note=held.note,
        balance_after=row.balance_after or 0,
        created_at=held.created_at,
        replayed=replayed,
        status="pending" if held.status == "waiting" else row.status,
        held_id=held.id,
    )
