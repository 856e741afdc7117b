"""The details of an audit-log line in the reader's language: "状态：已解决 · 已发邮件：否", not
"status: resolved, emailed: False". Keys and the values that are words (yes/no, who, ticket
statuses and priorities) are translated; identifiers, references, amounts and names stay as
they are."""

from __future__ import annotations

import uuid
from typing import Any

from babel.dates import get_day_names

from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.web.formatting import format_money

KEY_LABELS = {
    "status": N_("Status"),
    "old": N_("Before"),
    "new": N_("After"),
    "emailed": N_("E-mailed"),
    "by": N_("By"),
    "via": N_("Via"),
    "channel": N_("Channel"),
    "callback": N_("Call-back"),
    "reason": N_("Reason"),
    "amount": N_("Amount"),
    "currency": N_("Currency"),
    "evidence": N_("Evidence"),
    "merchant": N_("Merchant"),
    "from": N_("Changed from"),
    "to": N_("Changed to"),
    "agent": N_("Agent"),
    "results": N_("Results"),
    "transactions": N_("Transactions"),
    "tickets": N_("Tickets"),
    "ticket": N_("Ticket"),
    "claimed": N_("Amount claimed"),
    "held": N_("Held"),
    "recovered": N_("Recovered"),
    "recommendation": N_("Recommendation"),
    "document": N_("Document"),
    "file": N_("File"),
    "lines": N_("Lines"),
    "count": N_("Count"),
    "sum": N_("Sum"),
    "code": N_("Object code"),
    "kind": N_("Kind"),
    "budget": N_("Budget"),
    "change": N_("Change"),
    "submission": N_("Submission"),
    "already_frozen": N_("Already frozen"),
    "priority": N_("Priority"),
    "assignee": N_("Assigned to"),
    "target": N_("Merged into"),
    "start": N_("Period from"),
    "end": N_("Period until"),
    "last4": N_("Card ending"),
    "name": N_("Name"),
    "bank": N_("Bank"),
    "device": N_("Device"),
    "category": N_("Category"),
    "topup_id": N_("Top-up"),
    "held_id": N_("Held payment"),
    "case": N_("Case"),
    "new_phone": N_("New phone number"),
    "hours": N_("Hours"),
    "weekday": N_("Weekday"),
    # Stuck top-ups and the chat queue (support.console.topups, chat.desk.take).
    "cards": N_("Bound cards"),
    "provider": N_("Provider"),
    "answer": N_("Provider's answer"),
    "before": N_("Before"),
    "after": N_("After"),
    "note": N_("Note"),
    "outcome": N_("Top-up after"),
    "proposed_by": N_("Proposed by"),
    "waited_s": N_("Waited (seconds)"),
}
VALUE_LABELS = {
    "self": N_("the customer"),
    "staff": N_("staff"),
    "new": N_("New"),
    "open": N_("Open"),
    "waiting": N_("Waiting for the customer"),
    "pending": N_("Pending"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "low": N_("Low"),
    "normal": N_("Normal"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
    "email": N_("E-mail"),
    "web": N_("Web"),
    "chat": N_("Live chat"),
    "phone": N_("Phone"),
    "wechat": N_("WeChat"),
    "telegram": N_("Telegram"),
    "succeeded": N_("Paid"),
    "declined": N_("Declined"),
    "insufficient_funds": N_("Insufficient funds"),
    "cancelled": N_("Cancelled"),
    "expired": N_("Expired"),
    "failed:expired": N_("Expired"),
    "sandbox": N_("Sandbox bank"),
}


def _value(value: Any, locale: str) -> str:
    if isinstance(value, bool):
        return gettext(locale, N_("yes") if value else N_("no"))
    text = str(value)
    return gettext(locale, VALUE_LABELS[text]) if text in VALUE_LABELS else text


def ids_in(entries: Any) -> set[uuid.UUID]:
    """The people named by id in audit details (an agent given a shift, a proposer...)."""
    found: set[uuid.UUID] = set()
    for e in entries:
        for value in (getattr(e, "details", None) or {}).values():
            if isinstance(value, str) and len(value) == 36:
                try:
                    found.add(uuid.UUID(value))
                except ValueError:
                    continue
    return found


def details_text(
    details: dict[str, Any] | None, locale: str, people: dict[Any, Any] | None = None
) -> str:
    """One line, in the reader's language; keys we do not know keep their name. Staff and
    customers named by ``people`` (id → {"name": …}) show by name, an amount in minor units
    with its currency as money, a weekday (1 = Monday) by its name."""
    colon = ": " if locale == "en" else "："
    details = details or {}
    names = {str(k): v.get("name") if isinstance(v, dict) else v for k, v in (people or {}).items()}
    parts = []
    for key, value in details.items():
        if value is None or value == "":
            continue
        label = gettext(locale, KEY_LABELS[key]) if key in KEY_LABELS else key
        if key == "amount" and isinstance(value, int) and isinstance(details.get("currency"), str):
            shown = format_money(value, details["currency"], locale)
        elif key == "weekday" and isinstance(value, int) and 1 <= value <= 7:
            shown = get_day_names("wide", locale=locale)[value - 1]
        elif isinstance(value, str) and names.get(value):
            shown = str(names[value])
        else:
            shown = _value(value, locale)
        parts.append(f"{label}{colon}{shown}")
    return " · ".join(parts)
