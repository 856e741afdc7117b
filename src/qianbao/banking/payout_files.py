"""Payout files (F3): approved withdrawals leave for the bank as ISO 20022 pain.001 files.

1. ``create_batches``: the queued instructions (``bank_payouts``) of each currency become one
   file from the first active receiving account of that currency, with its control sums; the
   file is validated against the XSD before it is stored — an invalid one is never made.
2. ``approve``: a second operator (not the one who made it) approves the file.
3. ``release``: an operator downloads the approved file for the bank (again and again: the same
   bytes); its instructions are then "released".
4. ``import_status_report``: the bank's pain.002 — accepted, settled (ACSC/ACCC) or rejected
   (RJCT, with its reason) per end-to-end id; a group-level RJCT rejects the whole file. The
   withdrawals move on at once (rejected: the money goes back to the wallet, without fee).
5. The statement's lines settle or return each payout (``qianbao.banking.payout_lines``)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from qianbao.banking import accounts as receiving
from qianbao.banking import refunds
from qianbao.banking.errors import (
    BatchNotFound,
    BatchState,
    FileAlreadyImported,
    FileTooLarge,
    NoReceivingAccount,
    SameOperator,
    UnknownStatusReport,
)
from qianbao.banking.models import PayoutBatch, StatementFile
from qianbao.banking.payout_lines import apply_provider_news, still_waiting
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.ids import uuid7
from qianbao.rails import factory as rails
from qianbao.rails.bank_file_payouts import BankFilePayouts, reason_for
from qianbao.rails.bankfiles.detect import sha256_hex
from qianbao.rails.bankfiles.pain import (
    PayoutFile,
    PayoutLine,
    pain001,
    parse_pain002,
    validate_pain001,
)
from qianbao.rails.models import BankPayout
from qianbao.rails.payouts import PayoutStatus

SETTLED_CODES = ("ACSC", "ACCC")
ACCEPTED_CODES = ("ACSP", "ACTC", "ACCP", "ACWC", "PDNG", "RCVD")


async def create_batches(session: Any, settings: Any, *, by: uuid.UUID) -> list[PayoutBatch]:
    await lock_for_transaction(session, "bank-payout-batches")
    queued = list(
        (
            await session.execute(
                select(BankPayout)
                .where(BankPayout.status == "queued")
                .order_by(BankPayout.currency, BankPayout.created_at)
                .with_for_update()
            )
        ).scalars()
    )
    # Never send what is no longer owed: an instruction whose withdrawal or settlement was
    # finished another way while it waited is cancelled, not paid a second time.
    waiting = await still_waiting(session, queued)
    now = clock_of(session).now()
    for p in queued:
        if p.end_to_end_id not in waiting:
            p.status, p.updated_at = "cancelled", now
    queued = [p for p in queued if p.end_to_end_id in waiting]
    provider = rails.bank_file_payouts(settings)
    made = []
    for currency in sorted({p.currency for p in queued}):
        rows = [p for p in queued if p.currency == currency]
        made.append(await _batch(session, provider, currency, rows, by))
    return made


async def _batch(
    session: Any, provider: BankFilePayouts, currency: str, rows: list[BankPayout], by: uuid.UUID
) -> PayoutBatch:
    debtors = await receiving.active(session, currency)
    if not debtors:
        raise NoReceivingAccount(currency=currency)
    debtor = debtors[0]
    now = clock_of(session).now()
    batch_id = uuid7()
    message_id = f"QBP{now.astimezone(LOCAL_TZ):%Y%m%d%H%M%S}{batch_id.hex[-8:].upper()}"
    execution = now.astimezone(LOCAL_TZ).date() + timedelta(days=1)
    document = pain001(
        PayoutFile(
            message_id=message_id,
            created_at=now,
            debtor_name=debtor.holder_name,
            debtor_account=receiving.compact(debtor.account_number),
            debtor_account_is_iban=False,
            debtor_bic=debtor.bic,
            debtor_bank_name=debtor.bank_name,
            currency=currency,
            execution_date=execution,
            payment_info_id=message_id,
            lines=[
                PayoutLine(
                    end_to_end_id=p.end_to_end_id,
                    amount=p.amount,
                    currency=p.currency,
                    creditor_name=p.holder_name,
                    creditor_account=provider.reveal(p),
                    creditor_account_is_iban=p.account_kind == "iban",
                    creditor_bank_name=p.bank_name,
                    creditor_bank_bic=None,
                    remittance=f"Qianbao withdrawal {p.end_to_end_id}",
                )
                for p in rows
            ],
        )
    )
    validate_pain001(document)  # PayoutFileInvalid: nothing is made
    batch = PayoutBatch(
        id=batch_id,
        receiving_account_id=debtor.id,
        currency=currency,
        message_id=message_id,
        status="draft",
        count=len(rows),
        control_sum=sum(p.amount for p in rows),
        execution_date=execution,
        document=document.decode("utf-8"),
        sha256=hashlib.sha256(document).hexdigest(),
        created_by=by,
        created_at=now,
    )
    session.add(batch)
    for p in rows:
        p.status, p.batch_id, p.updated_at = "batched", batch.id, now
    await session.flush()
    return batch


async def get(session: Any, batch_id: str | uuid.UUID, *, lock: bool = False) -> PayoutBatch:
    try:
        ident = uuid.UUID(str(batch_id))
    except ValueError:
        raise BatchNotFound() from None
    query = select(PayoutBatch).where(PayoutBatch.id == ident)
    found = await session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise BatchNotFound()
    return found


async def recent(session: Any, *, limit: int = 20) -> list[PayoutBatch]:
    return list(
        (
            await session.execute(
                select(PayoutBatch).order_by(PayoutBatch.created_at.desc()).limit(limit)
            )
        ).scalars()
    )


async def items(session: Any, batch_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[BankPayout]]:
    """The instructions each file carries, as its approver checks them (account numbers stay
    sealed: the page shows the last four digits); one statement for all the files."""
    found: dict[uuid.UUID, list[BankPayout]] = {b: [] for b in batch_ids}
    if batch_ids:
        rows = await session.execute(
            select(BankPayout)
            .where(BankPayout.batch_id.in_(batch_ids))
            .order_by(BankPayout.created_at)
        )
        for p in rows.scalars():
            assert p.batch_id is not None
            found[p.batch_id].append(p)
    return found


async def queued_count(session: Any) -> int:
    """The instructions the next file would carry (not those that will be cancelled)."""
    rows = await session.execute(select(BankPayout).where(BankPayout.status == "queued"))
    return len(await still_waiting(session, list(rows.scalars())))


async def approve(session: Any, batch_id: str | uuid.UUID, *, by: uuid.UUID) -> PayoutBatch:
    batch = await get(session, batch_id, lock=True)
    if batch.status != "draft":
        raise BatchState()
    if batch.created_by == by:
        raise SameOperator()
    batch.status, batch.approved_by = "approved", by
    batch.approved_at = clock_of(session).now()
    await session.flush()
    return batch


async def release(session: Any, batch_id: str | uuid.UUID, *, by: uuid.UUID) -> PayoutBatch:
    """The approved file, for the bank; the first download releases its instructions."""
    batch = await get(session, batch_id, lock=True)
    if batch.status not in ("approved", "released"):
        raise BatchState()
    validate_pain001(batch.document.encode("utf-8"))  # as stored, still valid
    if batch.status == "approved":
        now = clock_of(session).now()
        batch.status, batch.released_by, batch.released_at = "released", by, now
        for p in (
            await session.execute(
                select(BankPayout).where(BankPayout.batch_id == batch.id).with_for_update()
            )
        ).scalars():
            if p.status == "batched":
                p.status, p.updated_at = "released", now
        await session.flush()
    return batch


def is_status_report(data: bytes) -> bool:
    """A pain.002 (rather than a statement): its namespace in the file's first 4 KiB."""
    head = data[:4096]
    return b"urn:iso:std:iso:20022:tech:xsd:pain.002" in head


@dataclass
class StatusResult:
    file_id: uuid.UUID | None = None
    filename: str = ""
    items: int = 0
    settled: int = 0
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    # read like a statement import's result (the CLI, the watched folder, the console)
    kind: str = "pain.002"
    statements: int = 0
    already_imported: int = 0
    credited: int = 0
    suspense: int = 0

    @property
    def booked(self) -> int:
        return self.settled + self.accepted + self.rejected

    @property
    def lines(self) -> int:
        return self.items

    @property
    def new(self) -> int:
        return self.items - self.unknown


async def import_status_report(
    session: Any,
    settings: Any,
    data: bytes,
    *,
    filename: str,
    by: uuid.UUID | None,
    source: str = "upload",
) -> StatusResult:
    if len(data) > settings.bank.max_file_mb * 1024 * 1024:
        raise FileTooLarge(mb=settings.bank.max_file_mb)
    digest = sha256_hex(data)
    await lock_for_transaction(session, f"bank-file:{digest}")
    seen = await session.scalar(select(StatementFile).where(StatementFile.sha256 == digest))
    if seen is not None:
        raise FileAlreadyImported(when=seen.imported_at.date().isoformat(), filename=seen.filename)
    report = parse_pain002(data)  # BankFileInvalid: refused whole
    batch = await session.scalar(
        select(PayoutBatch).where(PayoutBatch.message_id == report.original_message_id)
    )
    if batch is None or batch.status != "released":
        raise UnknownStatusReport(file=report.original_message_id or "—")
    result = StatusResult()
    now = clock_of(session).now()
    payouts = {
        p.end_to_end_id: p
        for p in (
            await session.execute(
                select(BankPayout).where(BankPayout.batch_id == batch.id).with_for_update()
            )
        ).scalars()
    }
    statuses = [(i.end_to_end_id.upper(), i.status, i.reason_code) for i in report.items]
    if not statuses and report.group_status == "RJCT":
        statuses = [(e2e, "RJCT", None) for e2e in payouts]
    elif not statuses and report.group_status in SETTLED_CODES:
        statuses = [(e2e, report.group_status, None) for e2e in payouts]
    for e2e, code, reason_code in statuses:
        result.items += 1
        payout = payouts.get(e2e)
        if payout is None:
            result.unknown += 1
            continue
        if code in SETTLED_CODES:
            await _settle(session, payout, now)
            result.settled += 1
        elif code == "RJCT":
            if payout.status in ("released", "accepted"):
                payout.status, payout.reason_code = "rejected", (reason_code or "")[:8] or None
                payout.reason, payout.updated_at = reason_for(reason_code), now
                if not await refunds.on_failure(session, payout):
                    await apply_provider_news(
                        session, "bank_file", e2e, PayoutStatus("failed", payout.reason)
                    )
            result.rejected += 1
        elif code in ACCEPTED_CODES:
            if payout.status == "released":
                payout.status, payout.updated_at = "accepted", now
            result.accepted += 1
    result.file_id, result.filename = uuid7(), (filename or "status.xml")[-255:]
    session.add(
        StatementFile(
            id=result.file_id,
            sha256=digest,
            filename=result.filename,
            kind="pain.002",
            size=len(data),
            source=source,
            imported_by=by,
            statements=0,
            lines=result.items,
            lines_new=result.items - result.unknown,
            imported_at=now,
        )
    )
    await session.flush()
    return result


async def _settle(session: Any, payout: BankPayout, now: Any) -> None:
    if payout.status in ("released", "accepted"):
        payout.status, payout.updated_at = "settled", now
        await apply_provider_news(
            session, "bank_file", payout.end_to_end_id, PayoutStatus("settled")
        )
