"""What to do with one statement line, decided from the line alone (a pure function; the
importer looks the reference up and moves the money).

- Money in whose memo carries one valid reference code → credit that wallet.
- Bank charges and interest (ISO 20022 sub-family CHRG / FEES / COMM / INTR, MT940 NCHG /
  NCOM / NINT) → booked to the operator's bank-charges or bank-interest account.
- Money out carrying the end-to-end id of one of our payouts ("QB…") → that payout left the
  account (settled); money in carrying one → it came back (returned).
- A reversal (the bank takes back an earlier entry) and every other line → suspense, with the
  reason an operator reads first. Nothing is guessed: a memo whose code fails the check, holds
  no code, or holds two goes to suspense."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from qianbao.kernel.i18n import N_
from qianbao.rails.bankfiles.model import StatementEntry
from qianbao.wallet.bank_reference import read_memo

Action = Literal["credit", "book", "payout", "return", "suspense"]
BOOKINGS = ("bank_charges", "bank_interest")

CHARGE_CODES = {"CHRG", "FEES", "COMM", "NCHG", "NCOM"}
INTEREST_CODES = {"INTR", "NINT"}

# Why an item is in suspense, as operators read it (translated on the page).
REASONS = {
    "no_reference": N_("no reference code in the memo"),
    "reference_invalid": N_("the reference code in the memo is mistyped (its check fails)"),
    "reference_unknown": N_("the reference code was never issued"),
    "reference_ambiguous": N_("the memo holds two different reference codes"),
    "user_unknown": N_("the reference's user no longer exists"),
    "wallet_frozen": N_("the wallet is frozen"),
    "wallet_closed": N_("the wallet is closed"),
    "over_limit": N_("over the user's top-up limit: waiting for review"),
    "reversal": N_("the bank reversed an earlier entry"),
    "debit_unmatched": N_("money out that matches no payout"),
    "currency_not_held": N_("the user's wallet does not hold this currency"),
    "payout_unknown": N_("it names a payout of ours that does not exist or was not sent"),
    "payout_amount": N_("it names a payout of ours, but the amount differs"),
    "refund_failed": N_("our refund to the payer's account was refused or came back"),
}
BOOKING_LABELS = {
    "bank_charges": N_("bank charges"),
    "bank_interest": N_("bank interest"),
}


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str | None = None  # for suspense: a key of REASONS
    booking: str | None = None  # for book: bank_charges | bank_interest
    reference: str | None = None  # the valid code the memo carries
    seen: str | None = None  # what looked like a code, as read
    end_to_end_id: str | None = None  # of our payout (payout, return)


def _code_tail(code: str | None) -> str:
    return (code or "").rsplit("/", 1)[-1].upper()


def classify(entry: StatementEntry) -> Decision:
    e2e = (entry.end_to_end_id or "").strip()
    if e2e.upper().startswith("QB"):
        if entry.direction == "debit" and not entry.reversal:
            return Decision("payout", end_to_end_id=e2e)
        if entry.direction == "credit":
            return Decision("return", end_to_end_id=e2e)
    if entry.reversal:
        return Decision("suspense", reason="reversal")
    tail = _code_tail(entry.bank_tx_code)
    if tail in CHARGE_CODES:
        return Decision("book", booking="bank_charges")
    if tail in INTEREST_CODES:
        return Decision("book", booking="bank_interest")
    if entry.direction == "debit":
        return Decision("suspense", reason="debit_unmatched")
    reading = read_memo(entry.remittance)
    if reading.outcome == "found":
        return Decision("credit", reference=reading.code, seen=reading.seen)
    reason = {
        "missing": "no_reference",
        "invalid": "reference_invalid",
        "ambiguous": "reference_ambiguous",
    }[reading.outcome]
    return Decision("suspense", reason=reason, seen=reading.seen)
