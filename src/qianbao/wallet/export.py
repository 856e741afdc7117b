"""CSV exports (C3): the (filtered) history and the monthly statement. UTF-8 with a BOM so
spreadsheet programs read Chinese correctly, headers in the user's language, amounts as exact
decimal strings, no spreadsheet formulas from user text."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.kernel.translations import gettext
from qianbao.wallet.history import Filters, list_transactions
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


FILENAME = "qianbao-history.csv"


async def csv_document(session: Any, user_id: uuid.UUID, filters: Filters, locale: str) -> bytes:
    """The whole export as UTF-8 bytes (BOM first)."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow([gettext(locale, h) for h in HEADERS])
    cursor = None
    while True:
        page = await list_transactions(session, user_id, filters, cursor=cursor, limit=100)
        for tx in page.rows:
            counterparty = " ".join(x for x in (tx.counterparty_name, tx.counterparty_phone) if x)
            writer.writerow(
                [
                    tx.listed_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                    gettext(locale, KIND_LABELS.get(tx.kind, tx.kind)),
                    gettext(locale, DIRECTION_LABELS[tx.direction]),
                    Money(tx.amount, tx.currency).to_decimal_string(),
                    Money(tx.fee, tx.currency).to_decimal_string(),
                    tx.currency,
                    safe_cell(counterparty),
                    safe_cell(tx.note or ""),
                    gettext(locale, STATUS_LABELS.get(tx.status, tx.status)),
                    tx.reference,
                    Money(tx.balance_after, tx.currency).to_decimal_string()
                    if tx.balance_after is not None
                    else "",
                ]
            )
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    return buffer.getvalue().encode("utf-8")


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
                line.reference or "",
                amount(line.balance_after),
            ]
        )
    return buffer.getvalue().encode("utf-8")
