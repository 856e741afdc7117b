"""Statement import (F3): a camt.053, camt.054 or MT940 file in, every new line credited,
booked or parked in suspense — in the caller's one transaction, so a file is imported whole or
not at all.

Each file is imported once (its SHA-256), each statement once (the bank's statement id per
receiving account and format), each line once (the bank's reference per account: a camt.054
notification's lines are not imported again with the day's camt.053). A statement must belong
to a receiving account, be in its currency, and open with the closing balance of the account's
last statement (else one is missing); the first statement of an account brings its opening
balance into the ledger (against equity ``opening``). Imports of one account are serialised by
a lock, so two imports of the same lines cannot both take them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from qianbao.banking import accounts as receiving
from qianbao.banking import payout_lines
from qianbao.banking.errors import (
    FileAlreadyImported,
    FileTooLarge,
    StatementAlreadyImported,
    StatementCurrencyMismatch,
    StatementGap,
    UnknownReceivingAccount,
)
from qianbao.banking.models import BankStatement, ReceivingAccount, StatementFile, StatementLine
from qianbao.banking.posting import BankPoster
from qianbao.banking.rules import Decision, classify
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.merchants import agents as cash_agents
from qianbao.rails.bankfiles.detect import parse_statement_file, sha256_hex
from qianbao.rails.bankfiles.model import Statement, StatementEntry
from qianbao.wallet.bank_reference import owners_of
from qianbao.wallet.bank_topup import BankCredit, CreditRefused, credit_many
from qianbao.wallet.models import WalletTransaction

SOURCES = ("upload", "folder", "command", "demo")
_CHUNK = 1000


@dataclass
class ImportResult:
    file_id: uuid.UUID
    filename: str
    kind: str
    statements: int = 0
    lines: int = 0
    already_imported: int = 0
    credited: int = 0
    booked: int = 0
    suspense: int = 0
    credited_amount: dict[str, int] = field(default_factory=dict)

    @property
    def new(self) -> int:
        return self.credited + self.booked + self.suspense


async def import_file(
    session: Any,
    settings: Any,
    data: bytes,
    *,
    filename: str,
    source: str,
    by: uuid.UUID | None = None,
) -> ImportResult:
    if len(data) > settings.bank.max_file_mb * 1024 * 1024:
        raise FileTooLarge(mb=settings.bank.max_file_mb)
    digest = sha256_hex(data)
    await lock_for_transaction(session, f"bank-file:{digest}")
    seen = await session.scalar(select(StatementFile).where(StatementFile.sha256 == digest))
    if seen is not None:
        when = seen.imported_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")  # China time
        raise FileAlreadyImported(when=when, filename=seen.filename)
    statements = parse_statement_file(data, filename)  # BankFileInvalid: refused whole
    now = clock_of(session).now()
    kind = statements[0].kind if statements else "camt.053"
    file = StatementFile(
        id=uuid7(),
        sha256=digest,
        filename=(filename or "statement")[-255:],
        kind=kind,
        size=len(data),
        source=source,
        imported_by=by,
        statements=len(statements),
        lines=sum(len(s.entries) for s in statements),
        lines_new=0,
        imported_at=now,
    )
    session.add(file)
    await session.flush()
    result = ImportResult(file.id, file.filename, kind, statements=len(statements))
    poster = BankPoster(session, settings)
    for statement in statements:
        await _import_statement(session, poster, file, statement, result)
    file.lines_new = result.new
    await session.flush()
    return result


async def _import_statement(
    session: Any, poster: BankPoster, file: StatementFile, st: Statement, result: ImportResult
) -> None:
    account = await receiving.by_statement_account(session, st.account)
    if account is None:
        raise UnknownReceivingAccount(account=st.account)
    if st.currency != account.currency:
        raise StatementCurrencyMismatch(
            account=st.account, currency=st.currency, expected=account.currency
        )
    await lock_for_transaction(session, f"bank-account:{account.id}")
    duplicate = await session.scalar(
        select(BankStatement.id).where(
            BankStatement.receiving_account_id == account.id,
            BankStatement.kind == st.kind,
            BankStatement.bank_statement_id == st.statement_id,
        )
    )
    if duplicate is not None:
        raise StatementAlreadyImported(statement=st.statement_id, account=st.account)
    await _check_continuity(session, poster, account, st)
    row = BankStatement(
        id=uuid7(),
        file_id=file.id,
        receiving_account_id=account.id,
        kind=st.kind,
        bank_statement_id=st.statement_id,
        currency=st.currency,
        from_date=st.from_date,
        to_date=st.to_date,
        opening=st.opening,
        closing=st.closing,
        created_at=clock_of(session).now(),
    )
    session.add(row)
    await session.flush()
    known = await _known_refs(session, account.id, (e.bank_ref for e in st.entries))
    todo: list[StatementEntry] = []
    for entry in st.entries:
        if entry.bank_ref in known:
            result.already_imported += 1
            continue
        known.add(entry.bank_ref)  # the same reference twice in one file: the first counts
        todo.append(entry)
        if len(todo) >= _CHUNK:
            await _chunk(session, poster, account, row.id, todo, result)
            todo = []
    await _chunk(session, poster, account, row.id, todo, result)
    result.lines += len(st.entries)


async def _chunk(
    session: Any,
    poster: BankPoster,
    account: ReceivingAccount,
    statement_id: uuid.UUID,
    entries: list[StatementEntry],
    result: ImportResult,
) -> None:
    """Up to ``_CHUNK`` new lines, in a fixed number of statements: the references' owners read
    at once, the credits in one batch (``credit_many``), the bookings and suspense items in one
    ledger batch (``BankPoster.flush``), the lines in one insert. (One ledger call per line made
    the import slow down with every line: each updated the receiving account's mirror row again
    in the file's one transaction.)"""
    if not entries:
        return
    decided = [(uuid7(), entry, classify(entry)) for entry in entries]
    refs = {d.reference for _, _, d in decided if d.action == "credit" and d.reference}
    owners = await owners_of(session, refs)
    # A cash agent's reference tops up its float (B5), not a wallet.
    floats = await cash_agents.owners_of_references(session, refs - set(owners))
    wanted = [
        (i, owners[d.reference])
        for i, (_, _, d) in enumerate(decided)
        if d.action == "credit" and d.reference in owners
    ]
    outcomes = await credit_many(
        session,
        [
            BankCredit(
                user_id=user_id,
                amount=Money(decided[i][1].amount, decided[i][1].currency),
                source_account_id=account.ledger_account_id,
                key=f"bank-line:{decided[i][0]}",
                line_id=decided[i][0],
                bank_name=account.bank_name,
                payer_name=decided[i][1].counterparty_name,
            )
            for i, user_id in wanted
        ],
    )
    credited = {i: outcome for (i, _), outcome in zip(wanted, outcomes, strict=True)}
    lines = [
        await _one_line(
            session, poster, account, statement_id, line, owners, credited.get(i), result, floats
        )
        for i, line in enumerate(decided)
    ]
    await poster.flush()
    await _insert(session, lines)


async def _check_continuity(
    session: Any, poster: BankPoster, account: ReceivingAccount, st: Statement
) -> None:
    if st.opening is None:
        return  # a notification (camt.054) carries no balances
    last = await session.scalar(
        select(BankStatement)
        .where(
            BankStatement.receiving_account_id == account.id,
            BankStatement.closing.is_not(None),
        )
        .order_by(BankStatement.to_date.desc().nulls_last(), BankStatement.created_at.desc())
        .limit(1)
    )
    if last is None:
        await poster.opening_balance(account, st.opening)
    elif last.closing != st.opening:
        raise StatementGap(
            statement=st.statement_id,
            account=st.account,
            opening=Money(st.opening, st.currency),
            closing=Money(last.closing, st.currency),
        )


async def _known_refs(session: Any, account_id: uuid.UUID, refs: Iterable[str]) -> set[str]:
    wanted = list(set(refs))
    known: set[str] = set()
    for i in range(0, len(wanted), 10_000):
        known.update(
            (
                await session.execute(
                    select(StatementLine.bank_ref).where(
                        StatementLine.receiving_account_id == account_id,
                        StatementLine.bank_ref
                        == bindparam("refs", wanted[i : i + 10_000], type_=ARRAY(String())).any_(),
                    )
                )
            ).scalars()
        )
    return known


async def _one_line(
    session: Any,
    poster: BankPoster,
    account: ReceivingAccount,
    statement_id: uuid.UUID,
    line: tuple[uuid.UUID, StatementEntry, Decision],
    owners: dict[str, uuid.UUID],
    credited: WalletTransaction | CreditRefused | None,
    result: ImportResult,
    floats: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The line's row, and its bookings queued; a credit to a wallet is already decided
    (``credited``: the wallet's history row, or why the wallet did not take it)."""
    line_id, entry, decision = line
    status, reason, user_id, tx_id = "suspense", decision.reason, None, None
    if decision.action == "credit":
        assert decision.reference is not None
        user_id = owners.get(decision.reference)
        agent = (floats or {}).get(decision.reference)
        if user_id is None and agent is not None and entry.currency == "CNY":
            status, reason = "booked", "agent_float"
            await poster.to_float(account, line_id, entry, agent.float_account_id)
        elif user_id is None:
            reason = "reference_unknown"
        elif isinstance(credited, CreditRefused):
            reason = credited.reason
        else:
            assert credited is not None
            status, reason, tx_id = "credited", None, credited.id
            result.credited_amount[entry.currency] = (
                result.credited_amount.get(entry.currency, 0) + entry.amount
            )
    if decision.action == "book":
        assert decision.booking is not None
        status, reason = "booked", None
        await poster.book(account, line_id, entry, decision.booking)
    elif decision.action in ("payout", "return"):
        status, reason = await payout_lines.apply(
            session, poster, account, line_id, entry, decision
        )
    elif status == "suspense":
        await poster.to_suspense(account, line_id, entry)
    counted = {"paid_out": "booked", "returned": "booked"}.get(status, status)
    setattr(result, counted, getattr(result, counted) + 1)
    return {
        "id": line_id,
        "statement_id": statement_id,
        "receiving_account_id": account.id,
        "bank_ref": entry.bank_ref,
        "line_no": entry.line,
        "direction": entry.direction,
        "amount": entry.amount,
        "currency": entry.currency,
        "booking_date": entry.booking_date,
        "value_date": entry.value_date,
        "remittance": entry.remittance,
        "end_to_end_id": entry.end_to_end_id,
        "counterparty_name": entry.counterparty_name,
        **poster.counterparty(line_id, entry.counterparty_account),
        "bank_tx_code": entry.bank_tx_code,
        "reversal": entry.reversal,
        "status": status,
        "reason": reason,
        "reference": (decision.reference or decision.seen or "")[:16] or None,
        "user_id": user_id,  # whose wallet the reference names (credited, or waiting)
        "wallet_transaction_id": tx_id,
        "created_at": clock_of(session).now(),
    }


async def _insert(session: Any, lines: list[dict[str, Any]]) -> None:
    if lines:
        await session.execute(insert(StatementLine), lines)
