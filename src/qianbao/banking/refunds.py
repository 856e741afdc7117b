"""Sending money in suspense back to the account it came from (F4): the operator's third way
out of suspense, beside crediting a wallet and booking. The refund is a payout like a
withdrawal (``bank_payouts``, end-to-end id "QB…", in the next pain.001 file, four-eyes on the
file), its ledger entry moves the amount from suspense to the payout clearing account; the
statement's debit line then settles it. If the bank rejects it (pain.002) or the money comes
back, a new entry moves it back to suspense and the line is in the queue again, with the
reason — nothing is lost and no entry is edited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from qianbao.banking.errors import PayerAccountUnknown
from qianbao.banking.models import StatementLine
from qianbao.banking.posting import reveal_counterparty
from qianbao.kernel.clock import clock_of
from qianbao.ledger import Ledger
from qianbao.ledger import transfer as ledger_transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.rails import factory as rails
from qianbao.rails.models import BankPayout
from qianbao.rails.payouts import PayoutInstruction

PREFIX = "refund:"


def _kind(account: str) -> str:
    return "iban" if account[:2].isalpha() else "card"


async def send(session: Any, settings: Any, line: StatementLine) -> None:
    if not line.counterparty_account_sealed:
        raise PayerAccountUnknown()
    account = reveal_counterparty(settings, line.id, line.counterparty_account_sealed)
    tries = await session.scalar(
        select(func.count()).where(BankPayout.reference.startswith(f"{PREFIX}{line.id}:"))
    )
    attempt = int(tries or 0) + 1  # a refund the bank refused can be sent again
    await rails.bank_file_payouts(settings).submit(
        session,
        PayoutInstruction(
            reference=f"{PREFIX}{line.id}:{attempt}",
            amount=line.amount,
            currency=line.currency,
            account_kind=_kind(account),
            account_number=account,
            holder_name=line.counterparty_name or "—",
            bank_name="",
        ),
    )
    await _move(session, line, attempt, back=False)


async def _move(session: Any, line: StatementLine, attempt: int, *, back: bool) -> None:
    ledger = await Ledger.of_session(session)
    suspense = await system_account_id(ledger.conn, "suspense", line.currency, "bank_transfer")
    clearing = await system_account_id(ledger.conn, "bank_clearing", line.currency, "payout")
    await ledger.post(
        ledger_transfer(
            f"bank-refund{'-back' if back else ''}:{line.id}:{attempt}",
            debit_account_id=clearing if back else suspense,
            credit_account_id=suspense if back else clearing,
            amount=line.amount,
            currency=line.currency,
            entry_type="bank_refund_back" if back else "bank_refund",
            metadata={"bank_line": str(line.id)},
        )
    )


async def on_failure(session: Any, payout: BankPayout) -> bool:
    """A refund the bank rejected or sent back: its money to suspense again, the line back in
    the queue. False when ``payout`` is not a refund."""
    if not payout.reference.startswith(PREFIX):
        return False
    line_id, _, attempt = payout.reference[len(PREFIX) :].partition(":")
    line = await session.get(StatementLine, uuid.UUID(line_id), with_for_update=True)
    if line is None or line.status != "resolved" or line.resolution != "refunded":
        return True
    await _move(session, line, int(attempt), back=True)
    line.status, line.reason, line.resolution = "suspense", "refund_failed", None
    line.resolution_note = payout.reason
    line.resolved_at = clock_of(session).now()
    await session.flush()
    return True
