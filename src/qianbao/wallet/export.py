"""CSV exports (C3): the (filtered) history and the monthly statement. UTF-8 with a BOM so
spreadsheet programs read Chinese correctly, headers in the user's language, amounts as exact
decimal strings, no spreadsheet formulas from user text."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.db import Database
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.kernel.translations import gettext
from qianbao.wallet.history import Filters, export_rows, validate
from qianbao.wallet.statement import Statement

BOM = "\ufeff"
HEADERS = [
    N_("Time"),
    N_("Type"),
    N_("Direction"),
    N_("Amount"),
    N_("Fee"),
    N_("Currency"),
    N_("Counterparty"),
    N_("Note"),
    N_("Status"),
    N_("Reference number"),
    N_("Balance after"),
]
KIND_LABELS = {
    "transfer": N_("Transfer"),
    "topup": N_("Top-up"),
    "withdrawal": N_("Withdrawal"),
    "payment": N_("Payment"),
    "refund": N_("Refund"),
    "fee": N_("Fee"),
    "adjustment": N_("Adjustment"),
    "exchange": N_("Exchange"),
    "reversal": N_("Reversal"),  # statement lines only
}
DIRECTION_LABELS = {"in": N_("Money in"), "out": N_("Money out")}
STATUS_LABELS = {
    "completed": N_("Completed"),
    "pending": N_("Processing"),
    "failed": N_("Failed"),
    "reversed": N_("Reversed"),
}


def safe_cell(value: str) -> str:
    """No spreadsheet formulas from user text (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def text_cell(value: str) -> str:
    """A long number that must stay text (the 18-digit reference): spreadsheets would show
    it as 2.02612E+17 and drop its last digits. A trailing tab makes them keep it as typed
    (the way Chinese wallets' bill exports do it); a CSV reader strips it."""
    return value + "\t" if value else value


FILENAME = "qianbao-history.csv"


# Rows read per chunk of a streamed export: one short transaction each (about 150 KB of CSV).
CHUNK_ROWS = 1_000


def csv_stream(
    db: Database, user_id: uuid.UUID, filters: Filters, locale: str, *, now: datetime
) -> AsyncIterator[bytes]:
    """The (filtered) history as CSV, UTF-8 bytes (BOM first), streamed in chunks of
    ``CHUNK_ROWS`` rows, for a streaming response.

    The filters are checked here, before anything is sent (``ValidationFailed``). Each chunk is
    read in its own short transaction on a pooled connection that goes back to the pool before
    the chunk is sent: a slow client holds no connection, and memory stays that of one chunk
    whatever the length of the history. The chunks follow each other by the history's key
    (listed_at, id), so a row that moves in the history while it is being exported (a
    withdrawal that settles) may be left out; a row added meanwhile is newer than the first
    chunk and is not exported."""
    validate(filters, now)
    return _csv_chunks(db, user_id, filters, locale, now)


async def _csv_chunks(
    db: Database, user_id: uuid.UUID, filters: Filters, locale: str, now: datetime
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow([gettext(locale, h) for h in HEADERS])
    labels = _Labels(locale)
    after = None
    while True:
        async with db.session() as session:
            rows = await export_rows(
                session, user_id, filters, after=after, limit=CHUNK_ROWS, now=now
            )
        writer.writerows(_csv_row(tx, labels) for tx in rows)
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CHUNK_ROWS:
            return
        after = (rows[-1].listed_at, rows[-1].id)


class _Labels:
    """The translated labels of one export (looked up once, not on every row)."""

    def __init__(self, locale: str) -> None:
        self.kinds = {k: gettext(locale, v) for k, v in KIND_LABELS.items()}
        self.directions = {k: gettext(locale, v) for k, v in DIRECTION_LABELS.items()}
        self.statuses = {k: gettext(locale, v) for k, v in STATUS_LABELS.items()}


def _csv_row(tx: Any, labels: _Labels) -> list[str]:
    counterparty = " ".join(x for x in (tx.counterparty_name, tx.counterparty_phone) if x)
    return [
        tx.listed_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        labels.kinds.get(tx.kind, tx.kind),
        labels.directions[tx.direction],
        Money(tx.amount, tx.currency).to_decimal_string(),
        Money(tx.fee, tx.currency).to_decimal_string(),
        tx.currency,
        safe_cell(counterparty),
        safe_cell(tx.note or ""),
        labels.statuses.get(tx.status, tx.status),
        text_cell(tx.reference),
        Money(tx.balance_after, tx.currency).to_decimal_string()
        if tx.balance_after is not None
        else "",
    ]


STATEMENT_SUMMARY = {
    "month": N_("Monthly statement"),
    "currency": N_("Currency"),
    "opening": N_("Opening balance"),
    "in": N_("Total in"),
    "out": N_("Total out"),
    "fees": N_("Total fees"),
    "closing": N_("Closing balance"),
    "count": N_("Number of transactions"),
}
STATEMENT_HEADERS = [
    N_("Time"),
    N_("Type"),
    N_("Direction"),
    N_("Amount"),
    N_("Fee"),
    N_("Counterparty"),
    N_("Note"),
    N_("Status"),
    N_("Reference number"),
    N_("Balance after"),
]


def statement_filename(statement: Statement) -> str:
    return f"qianbao-statement-{statement.label}-{statement.currency}.csv"


def statement_csv(statement: Statement, locale: str) -> bytes:
    """The statement as UTF-8 bytes (BOM first): a summary block, an empty row, then one row per
    line, oldest first."""

    def amount(minor: int) -> str:
        return Money(minor, statement.currency).to_decimal_string()

    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    t = STATEMENT_SUMMARY
    for label, value in (
        (t["month"], statement.label),
        (t["currency"], statement.currency),
        (t["opening"], amount(statement.opening)),
        (t["in"], amount(statement.total_in)),
        (t["out"], amount(statement.total_out)),
        (t["fees"], amount(statement.total_fees)),
        (t["closing"], amount(statement.closing)),
        (t["count"], str(statement.count)),
    ):
        writer.writerow([gettext(locale, label), value])
    writer.writerow([])
    writer.writerow([gettext(locale, h) for h in STATEMENT_HEADERS])
    for line in statement.lines:
        counterparty = " ".join(x for x in (line.counterparty_name, line.counterparty_phone) if x)
        writer.writerow(
            [
                line.at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                gettext(locale, KIND_LABELS.get(line.kind, line.kind)),
                gettext(locale, DIRECTION_LABELS[line.direction]),
                amount(line.amount),
                amount(line.fee),
                safe_cell(counterparty),
                safe_cell(line.note or ""),
                gettext(locale, STATUS_LABELS.get(line.status, line.status)),
                text_cell(line.reference or ""),
                amount(line.balance_after),
            ]
        )
    return buffer.getvalue().encode("utf-8")
