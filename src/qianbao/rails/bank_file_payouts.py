"""The payout provider an operator uses with a real bank (``payout_backend = "bank_file"``):
each approved withdrawal becomes an instruction (``bank_payouts``) that the operator's bank
receives in an ISO 20022 pain.001 file. Building, approving (four-eyes) and releasing the files,
and reading the bank's answers (pain.002 status reports, statement lines), is the bank rails'
work (``qianbao.banking.payout_files``); this provider only records the instruction and tells
the wallet what the bank said:

- queued / batched / released / accepted → pending (and cancelled: never sent, see
  ``banking.payout_files.create_batches``);
- settled (pain.002 ACSC/ACCC, or the statement's debit line) → settled;
- rejected (pain.002 RJCT) → failed, with the bank's reason;
- returned (the money came back on the statement) → returned, with the reason.

``end_to_end_id`` is "QB" + the withdrawal id's 32 hex digits (35 characters at most in ISO
20022), so the same withdrawal submitted twice is one instruction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.clock import clock_of
from qianbao.kernel.crypto import Sealer
from qianbao.kernel.i18n import N_
from qianbao.rails.models import BankPayout
from qianbao.rails.payouts import PayoutInstruction, PayoutStatus

SEALER_PURPOSE = "bank-payout-account"

# ISO 20022 external status reason codes, as a customer reads them (the most common ones).
REASONS = {
    "AC01": N_("The receiving bank refused the payment: the account number is wrong."),
    "AC04": N_("The receiving bank refused the payment: the account is closed."),
    "AC06": N_("The receiving bank refused the payment: the account is blocked."),
    "AG01": N_("The receiving bank refused the payment: the account cannot take transfers."),
    "BE01": N_("The receiving bank refused the payment: the name does not match the account."),
    "AM05": N_("The bank refused the payment as a duplicate."),
    "MS03": N_("The bank refused the payment without giving a reason."),
}
DEFAULT_REJECTED = N_("The bank refused the payment.")
DEFAULT_RETURNED = N_("The receiving bank sent the money back: the account could not be credited.")


def end_to_end_id(reference: str) -> str:
    """ "QB" + the withdrawal id (34 characters); a refund ("refund:<line id>:<attempt>"):
    "QB" + the line id + the attempt in base 36 (35 characters)."""
    try:
        return "QB" + uuid.UUID(reference).hex.upper()
    except ValueError:
        pass
    _, ident, attempt = reference.split(":") if reference.count(":") == 2 else ("", "", "")
    try:
        return "QB" + uuid.UUID(ident).hex.upper() + _BASE36[int(attempt) % 36]
    except ValueError:
        return ("QB" + "".join(c for c in reference if c.isascii() and c.isalnum()))[:35].upper()


_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def reason_for(code: str | None, *, returned: bool = False) -> str:
    if code and code in REASONS:
        return REASONS[code]
    return DEFAULT_RETURNED if returned else DEFAULT_REJECTED


class BankFilePayouts:
    name = "bank_file"

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    async def submit(self, session: Any, instruction: PayoutInstruction) -> str:
        e2e = end_to_end_id(instruction.reference)
        now = clock_of(session).now()
        await session.execute(
            insert(BankPayout)
            .values(
                id=uuid.uuid4(),
                reference=instruction.reference,
                end_to_end_id=e2e,
                amount=instruction.amount,
                currency=instruction.currency,
                account_kind=instruction.account_kind,
                account_sealed=self._sealer.seal(
                    instruction.account_number.encode(), aad=e2e.encode()
                ),
                account_last4=instruction.account_number[-4:],
                holder_name=instruction.holder_name[:140],
                bank_name=instruction.bank_name[:140],
                status="queued",
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["reference"])
        )
        return e2e

    async def status(self, session: Any, provider_ref: str) -> PayoutStatus:
        row = await session.scalar(
            select(BankPayout).where(BankPayout.end_to_end_id == provider_ref)
        )
        if row is None or row.status in ("queued", "batched", "released", "accepted"):
            return PayoutStatus("pending")
        if row.status == "cancelled":
            # Never sent: its owner had finished another way. The bank has nothing to say.
            return PayoutStatus("pending")
        if row.status == "settled":
            return PayoutStatus("settled")
        if row.status == "rejected":
            return PayoutStatus("failed", row.reason or DEFAULT_REJECTED)
        return PayoutStatus("returned", row.reason or DEFAULT_RETURNED)

    def reveal(self, row: BankPayout) -> str:
        """The whole account number, for the pain.001 file only (never logged)."""
        return self._sealer.open(row.account_sealed, aad=row.end_to_end_id.encode()).decode()
