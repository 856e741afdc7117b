"""What a bank statement file says, whatever its format (camt.053, camt.054, MT940).

The parsers (``camt.py``, ``mt940.py``) turn a file into these; the importer
(``qianbao.banking``) never sees XML or MT940 text. Amounts are integer minor units of the
statement's currency; a direction says which way the money went on *our* account."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_

Direction = Literal["credit", "debit"]  # credit: money came in to our account
FileKind = Literal["camt.053", "camt.054", "mt940"]


@dataclass(frozen=True, slots=True)
class StatementEntry:
    line: int  # where the entry starts in the file (1-based text line), for error messages
    bank_ref: str  # the bank's own reference of the entry: unique per account, never empty
    amount: int  # minor units, > 0
    direction: Direction
    currency: str
    booking_date: date
    value_date: date | None
    remittance: str  # the payer's memo / unstructured remittance / MT940 :86:, as sent (raw)
    end_to_end_id: str | None = None  # EndToEndId of a credit transfer (our payouts carry ours)
    counterparty_name: str | None = None
    counterparty_account: str | None = None  # IBAN or the bank's other account id
    bank_tx_code: str | None = None  # BkTxCd domain/family/sub-family, or MT940's code (NTRF)
    reversal: bool = False  # RvslInd: the bank reverses an earlier entry (a return)


@dataclass(frozen=True, slots=True)
class Statement:
    kind: FileKind
    statement_id: str  # Stmt/Id (Ntfctn/Id), or MT940 :20: + :28C:
    account: str  # our account as the bank names it: IBAN, Othr/Id, MT940 :25:
    currency: str
    created_at: datetime | None
    from_date: date | None
    to_date: date | None
    opening: int | None  # signed minor units (OPBD / :60F:); None for camt.054
    closing: int | None  # signed minor units (CLBD / :62F:); None for camt.054
    entries: list[StatementEntry] = field(default_factory=list)


class BankFileInvalid(DomainError):
    """The whole file is refused: ``line`` and ``reason`` say where and why."""

    code = "bank.file_invalid"
    kind = ErrorKind.INVALID
    message = N_("The statement file cannot be read (line {line}): {reason}")
