"""The development payout backend: each instruction becomes a line in a local file (the number
masked) and a row standing in for the bank's record. It settles ``settle_after_s`` after
submission; test account numbers ending in 0069 fail (account closed) and those ending in 0077
settle and then come back (returned by the receiving bank) one period later.

The file is written before the submitting job commits, so a crash in between (the web process
or the database killed) runs the job again: like the SMS outbox, the file holds each reference
once (checked under an exclusive lock), and the payout's id is derived from our reference, so the
retried submission is the same payout, not a second instruction (found by `make chaos`)."""

from __future__ import annotations

import fcntl
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.rails.models import DevPayout
from qianbao.rails.payouts import PayoutInstruction, PayoutStatus

_PAYOUT_IDS = uuid.UUID("0f7c5a52-6d1e-4a8e-9a55-3c1d2b7e9f10")  # namespace of payout ids
FAILED_REASON = N_("The receiving bank refused the payment: the account is closed.")
RETURNED_REASON = N_("The receiving bank sent the money back: the account could not be credited.")


def planned_outcome(account_number: str) -> str:
    if account_number.endswith("0069"):
        return "failed"
    if account_number.endswith("0077"):
        return "returned"
    return "settled"


class FilePayouts:
    name = "file"

    def __init__(self, outbox_path: Path, settle_after_s: float) -> None:
        self._path = outbox_path
        self._settle_after = timedelta(seconds=settle_after_s)

    async def submit(self, session: Any, instruction: PayoutInstruction) -> str:
        now = clock_of(session).now()
        row = (
            await session.execute(
                insert(DevPayout)
                .values(
                    id=uuid.uuid5(_PAYOUT_IDS, instruction.reference),
                    reference=instruction.reference,
                    amount=instruction.amount,
                    currency=instruction.currency,
                    account_last4=instruction.account_number[-4:],
                    planned_outcome=planned_outcome(instruction.account_number),
                    submitted_at=now,
                )
                .on_conflict_do_nothing(index_elements=["reference"])
                .returning(DevPayout.id)
            )
        ).first()
        if row is None:  # submitted before: the same payout
            existing = (
                await session.execute(
                    select(DevPayout.id).where(DevPayout.reference == instruction.reference)
                )
            ).scalar_one()
            return str(existing)
        line = {
            "at": now.isoformat(),
            "payout": str(row[0]),
            "reference": instruction.reference,
            "amount_minor": instruction.amount,
            "currency": instruction.currency,
            "account": f"•••• {instruction.account_number[-4:]}",
            "kind": instruction.account_kind,
            "holder": instruction.holder_name,
            "bank": instruction.bank_name,
        }
        self._append_once(line)
        return str(row[0])

    def _append_once(self, line: dict[str, Any]) -> None:
        """Append the instruction unless the file already holds one for its reference."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                fh.seek(0)
                for existing in fh:
                    try:
                        if json.loads(existing).get("reference") == line["reference"]:
                            return
                    except ValueError:
                        continue  # a line torn by a crash
                fh.seek(0, 2)
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    async def status(self, session: Any, provider_ref: str) -> PayoutStatus:
        row = await session.get(DevPayout, uuid.UUID(provider_ref))
        if row is None:
            return PayoutStatus("failed", FAILED_REASON)
        elapsed = clock_of(session).now() - row.submitted_at
        if elapsed < self._settle_after:
            return PayoutStatus("pending")
        if row.planned_outcome == "failed":
            return PayoutStatus("failed", FAILED_REASON)
        if row.planned_outcome == "returned" and elapsed >= 2 * self._settle_after:
            return PayoutStatus("returned", RETURNED_REASON)
        return PayoutStatus("settled")
