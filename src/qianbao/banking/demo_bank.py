"""The bank's side, for development and the demo (never in production): what the operator's
bank sends back after it received a released payout file — the pain.002 status report and the
next end-of-day camt.053 statement — made from the file itself, so the whole payout round can
be tried on `make run` without a bank.

The rules are the development payout backend's (``qianbao.rails.dev_payouts``): an account
number ending in 0069 is rejected (AC04, account closed); one ending in 0077 is paid and comes
back the same day (a return credit carrying our end-to-end id); every other one is settled.
The statement continues from the receiving account's last imported statement (its closing
balance becomes the opening), the day after it; its debit lines carry our end-to-end ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from qianbao.banking.errors import BatchState
from qianbao.banking.models import BankStatement, PayoutBatch, ReceivingAccount
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.rails import factory as rails
from qianbao.rails.bankfiles.model import Statement, StatementEntry
from qianbao.rails.bankfiles.pain import StatusReport, TxStatus, pain002
from qianbao.rails.bankfiles.write import camt053
from qianbao.rails.models import BankPayout

REJECTED_SUFFIX = "0069"
RETURNED_SUFFIX = "0077"


@dataclass(frozen=True)
class BankAnswer:
    status_report: bytes  # pain.002.001.10
    statement: bytes  # camt.053.001.02
    status_name: str
    statement_name: str


def outcome(account_number: str) -> str:
    digits = "".join(c for c in account_number if c.isascii() and c.isdigit())
    if digits.endswith(REJECTED_SUFFIX):
        return "rejected"
    if digits.endswith(RETURNED_SUFFIX):
        return "returned"
    return "settled"


async def answer(session: Any, settings: Any, batch_id: Any) -> BankAnswer:
    """The bank's two files for a released payout file (changes nothing in the database)."""
    if settings.environment == "production":
        raise BatchState()
    batch = await session.scalar(select(PayoutBatch).where(PayoutBatch.id == batch_id))
    if batch is None or batch.status != "released":
        raise BatchState()
    account = await session.get(ReceivingAccount, batch.receiving_account_id)
    assert account is not None
    provider = rails.bank_file_payouts(settings)
    payouts = list(
        (
            await session.execute(
                select(BankPayout)
                .where(BankPayout.batch_id == batch.id)
                .order_by(BankPayout.created_at, BankPayout.end_to_end_id)
            )
        ).scalars()
    )
    fates = {p.end_to_end_id: outcome(provider.reveal(p)) for p in payouts}
    now = clock_of(session).now()
    items = [
        TxStatus(
            end_to_end_id=p.end_to_end_id,
            status="RJCT" if fates[p.end_to_end_id] == "rejected" else "ACSC",
            reason_code="AC04" if fates[p.end_to_end_id] == "rejected" else None,
            reason_text=None,
            line=0,
        )
        for p in payouts
    ]
    report = StatusReport(
        message_id=f"ST{batch.message_id[3:]}"[:35],
        original_message_id=batch.message_id,
        group_status="PART" if any(i.status == "RJCT" for i in items) else "ACSC",
        items=items,
    )
    status_report = pain002(report, created_at=now)
    statement = await _statement(session, account, batch, payouts, fates, now)
    return BankAnswer(
        status_report=status_report,
        statement=statement,
        status_name=f"{batch.message_id}-pain002.xml",
        statement_name=f"{batch.message_id}-camt053.xml",
    )


async def _statement(
    session: Any,
    account: ReceivingAccount,
    batch: PayoutBatch,
    payouts: list[BankPayout],
    fates: dict[str, str],
    now: datetime,
) -> bytes:
    last = await session.scalar(
        select(BankStatement)
        .where(
            BankStatement.receiving_account_id == account.id,
            BankStatement.closing.is_not(None),
        )
        .order_by(BankStatement.to_date.desc().nulls_last(), BankStatement.created_at.desc())
        .limit(1)
    )
    opening = int(last.closing or 0) if last is not None else 0
    start = last.to_date if last is not None and last.to_date else now.astimezone(LOCAL_TZ).date()
    day = max(start + timedelta(days=1), batch.execution_date)
    booked = datetime.combine(day, time(18, 0), tzinfo=LOCAL_TZ)
    entries = []
    for n, p in enumerate(payouts, start=1):
        fate = fates[p.end_to_end_id]
        if fate == "rejected":
            continue
        common = {
            "amount": p.amount,
            "currency": p.currency,
            "booking_date": day,
            "value_date": day,
            "end_to_end_id": p.end_to_end_id,
            "counterparty_name": p.holder_name,
            "bank_tx_code": "PMNT/ICDT/DMCT",
        }
        entries.append(
            StatementEntry(
                line=0,
                bank_ref=f"OUT{day:%Y%m%d}{batch.message_id[-8:]}{n:04d}",
                direction="debit",
                remittance=f"Qianbao withdrawal {p.end_to_end_id}",
                **common,  # type: ignore[arg-type]
            )
        )
        if fate == "returned":
            entries.append(
                StatementEntry(
                    line=0,
                    bank_ref=f"RET{day:%Y%m%d}{batch.message_id[-8:]}{n:04d}",
                    direction="credit",
                    remittance=f"RETURN AC04 {p.end_to_end_id}",
                    **{**common, "bank_tx_code": "PMNT/ICDT/RRTN"},  # type: ignore[arg-type]
                )
            )
    closing = opening + sum(e.amount if e.direction == "credit" else -e.amount for e in entries)
    compact = account.account_number.replace(" ", "")
    return camt053(
        Statement(
            kind="camt.053",
            statement_id=f"STMT-{day:%Y%m%d}-{batch.message_id[-8:]}",
            account=compact,
            currency=account.currency,
            created_at=booked,
            from_date=day,
            to_date=day,
            opening=opening,
            closing=closing,
            entries=entries,
        ),
        message_id=f"MSG{day:%Y%m%d}{batch.message_id[-8:]}",
        created_at=booked,
        account_name=account.holder_name,
        bic=account.bic,
    )
