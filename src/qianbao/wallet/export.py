"""CSV export of the (filtered) history (C3): UTF-8 with a BOM so spreadsheet programs read
Chinese correctly, headers in the user's language, amounts as exact decimal strings."""

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
}
DIRECTION_LABELS = {"in": N_("Money in"), "out": N_("Money out")}
STATUS_LABELS = {
    "completed": N_("Completed"),
    "pending": N_("Processing"),
    "failed": N_("Failed"),
    "reversed": N_("Reversed"),
}


def _safe(value: str) -> str:
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
                    tx.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                    gettext(locale, KIND_LABELS.get(tx.kind, tx.kind)),
                    gettext(locale, DIRECTION_LABELS[tx.direction]),
                    Money(tx.amount, tx.currency).to_decimal_string(),
                    Money(tx.fee, tx.currency).to_decimal_string(),
                    tx.currency,
                    _safe(counterparty),
                    _safe(tx.note or ""),
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
