"""The payout interface (withdrawals, B10): we instruct a payment to a bank card or account and
later learn whether it settled, failed, or settled and then came back (returned)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

PayoutState = Literal["pending", "settled", "failed", "returned"]


@dataclass(frozen=True)
class PayoutInstruction:
    reference: str  # ours (the withdrawal id); submitting the same reference twice is one payout
    amount: int
    currency: str
    account_kind: str  # card | iban
    account_number: str  # whole: only in the instruction, never logged
    holder_name: str
    bank_name: str


@dataclass(frozen=True)
class PayoutStatus:
    state: PayoutState
    reason: str | None = None  # an N_ msgid explaining a failure or a return


class PayoutProvider(Protocol):
    name: str

    async def submit(self, session: Any, instruction: PayoutInstruction) -> str:
        """Hand the payout to the bank; returns the provider's reference. Idempotent."""
        ...

    async def status(self, session: Any, provider_ref: str) -> PayoutStatus: ...
