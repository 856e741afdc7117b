"""The ledger side of imported lines that do not go to a wallet: booked by rule (bank charges,
interest) or parked in the bank-transfer suspense account — queued and posted in batches
(one ledger call per thousand lines), each with the line's own command key, so a line moves
money at most once. Money in is a debit of the receiving account's mirror; money out a credit.

Also the payer's account number: sealed (AES-GCM under the data keys, bound to the line's id)
with the last four digits kept for display."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.banking.models import ReceivingAccount
from qianbao.kernel.crypto import Sealer
from qianbao.kernel.errors import DomainError
from qianbao.ledger import Ledger, PostEntry
from qianbao.ledger import transfer as ledger_transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.rails.bankfiles.model import StatementEntry

SEALER_PURPOSE = "bank-counterparty"


def counterparty_sealer(settings: Any) -> Sealer:
    return Sealer.for_purpose(settings.data_key_bytes(), SEALER_PURPOSE)


def reveal_counterparty(settings: Any, line_id: uuid.UUID, sealed: str) -> str:
    return counterparty_sealer(settings).open(sealed, aad=str(line_id).encode()).decode()


class BankPoster:
    def __init__(self, session: Any, settings: Any) -> None:
        self.session = session
        self.sealer = counterparty_sealer(settings)
        self.queue: list[PostEntry] = []
        self._accounts: dict[tuple[str, str, str], int] = {}  # system accounts, read once

    async def _system(self, kind: str, currency: str, code: str) -> int:
        found = self._accounts.get((kind, currency, code))
        if found is None:
            ledger = await Ledger.of_session(self.session)
            found = await system_account_id(ledger.conn, kind, currency, code)
            self._accounts[(kind, currency, code)] = found
        return found

    def _move(
        self,
        key: str,
        mirror: int,
        other: int,
        entry: StatementEntry,
        entry_type: str,
        line_id: uuid.UUID,
    ) -> PostEntry:
        money_in = entry.direction == "credit"
        return ledger_transfer(
            key,
            debit_account_id=mirror if money_in else other,
            credit_account_id=other if money_in else mirror,
            amount=entry.amount,
            currency=entry.currency,
            entry_type=entry_type,
            metadata={"bank_line": str(line_id)},
        )

    async def opening_balance(self, account: ReceivingAccount, opening: int) -> None:
        """The first statement of an account: the bank balance before it, into the ledger."""
        if opening == 0:
            return
        equity = await self._system("equity", account.currency, "opening")
        ledger = await Ledger.of_session(self.session)
        await ledger.post(
            ledger_transfer(
                f"bank-opening:{account.id}",
                debit_account_id=account.ledger_account_id if opening > 0 else equity,
                credit_account_id=equity if opening > 0 else account.ledger_account_id,
                amount=abs(opening),
                currency=account.currency,
                entry_type="bank_opening_balance",
                metadata={"receiving_account": account.code},
            )
        )

    async def book(
        self, account: ReceivingAccount, line_id: uuid.UUID, entry: StatementEntry, booking: str
    ) -> None:
        other = await self._system("equity", entry.currency, booking)
        self.queue.append(
            self._move(
                f"bank-line:{line_id}", account.ledger_account_id, other, entry, booking, line_id
            )
        )

    async def to_suspense(
        self, account: ReceivingAccount, line_id: uuid.UUID, entry: StatementEntry
    ) -> None:
        other = await self._system("suspense", entry.currency, "bank_transfer")
        self.queue.append(
            self._move(
                f"bank-line:{line_id}",
                account.ledger_account_id,
                other,
                entry,
                "bank_suspense",
                line_id,
            )
        )

    async def to_float(
        self, account: ReceivingAccount, line_id: uuid.UUID, entry: StatementEntry, float_id: int
    ) -> None:
        """A cash agent's bank transfer with its reference: into its e-money float (B5)."""
        self.queue.append(
            self._move(
                f"bank-line:{line_id}",
                account.ledger_account_id,
                float_id,
                entry,
                "agent_float_topup",
                line_id,
            )
        )

    async def payout_clearing(
        self, account: ReceivingAccount, line_id: uuid.UUID, entry: StatementEntry
    ) -> None:
        """Our payout left the bank (or came back): between the payout clearing account, where
        the settled withdrawal put it, and the receiving account's mirror."""
        other = await self._system("bank_clearing", entry.currency, "payout")
        self.queue.append(
            self._move(
                f"bank-line:{line_id}",
                account.ledger_account_id,
                other,
                entry,
                "bank_payout" if entry.direction == "debit" else "bank_payout_return",
                line_id,
            )
        )

    async def flush(self) -> None:
        if not self.queue:
            return
        queue, self.queue = self.queue, []
        ledger = await Ledger.of_session(self.session)
        for outcome in await ledger.execute(queue):
            if isinstance(outcome, DomainError):
                raise outcome

    def counterparty(self, line_id: uuid.UUID, account: str | None) -> dict[str, Any]:
        if not account:
            return {"counterparty_account_last4": None, "counterparty_account_sealed": None}
        return {
            "counterparty_account_last4": account[-4:],
            "counterparty_account_sealed": self.sealer.seal(
                account.encode(), aad=str(line_id).encode()
            ),
        }
