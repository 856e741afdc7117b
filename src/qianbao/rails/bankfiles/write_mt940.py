"""The MT940 writer (``write.mt940``): plain MT940 text that ``parse_mt940`` reads back as the
statement it was written from, or a ``ValueError`` for what MT940 cannot carry."""

from __future__ import annotations

import re
from datetime import date

from qianbao.kernel.money import Money
from qianbao.rails.bankfiles.model import Statement, StatementEntry
from qianbao.rails.bankfiles.mt940 import LINE_WIDTH, SUBFIELD_WIDTH, TAG_RE, _details, _Field

_SWIFT_CODE_RE = re.compile(r"[NSF][A-Z0-9]{3}")


def mt940(statement: Statement) -> bytes:
    """Plain MT940 (UTF-8, CRLF): ``statement_id`` is ``<:20:>/<:28C:>``; ``from_date`` and
    ``to_date`` date the :60F: and :62F: balances. A counterparty goes in a German structured
    :86: (?20–?29 remittance, ?31 account, ?32/?33 name); otherwise :86: is the remittance."""
    reference, _, number = statement.statement_id.partition("/")
    if not number:
        raise ValueError("statement_id must be '<:20:>/<:28C:>' for MT940")
    if statement.from_date is None or statement.to_date is None:
        raise ValueError("MT940 balances need from_date and to_date")
    cur = statement.currency
    opening = statement.opening or 0
    closing = statement.closing
    if closing is None:
        closing = opening + sum(
            e.amount if e.direction == "credit" else -e.amount for e in statement.entries
        )
    lines = [f":20:{reference}", f":25:{statement.account}", f":28C:{number}"]
    lines.append(f":60F:{_swift_balance(opening, cur, statement.from_date)}")
    for e in statement.entries:
        lines.append(f":61:{_statement_line(e)}")
        details = _field86(e)
        if details:
            lines.append(f":86:{details[0]}")
            lines.extend(details[1:])
    lines.append(f":62F:{_swift_balance(closing, cur, statement.to_date)}")
    lines.append("-")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _swift_amount(minor: int, currency: str) -> str:
    """``1234,50`` — MT940's decimal comma, always present."""
    whole, _, frac = Money(abs(minor), currency).to_decimal_string().partition(".")
    return f"{whole},{frac}"


def _swift_balance(signed: int, cur: str, day: date) -> str:
    return f"{'D' if signed < 0 else 'C'}{day:%y%m%d}{cur}{_swift_amount(signed, cur)}"


def _statement_line(e: StatementEntry) -> str:
    if e.reversal:
        mark = "RD" if e.direction == "credit" else "RC"
    else:
        mark = "C" if e.direction == "credit" else "D"
    code = e.bank_tx_code or "NMSC"
    if not _SWIFT_CODE_RE.fullmatch(code):
        raise ValueError(f"{code!r} is not an MT940 transaction type (such as NTRF)")
    customer = e.end_to_end_id or "NONREF"
    # SWIFT allows 16 characters for each reference; the parser reads up to 34 for both
    # ("<customer>//<bank>"), which some banks' longer references need.
    if len(customer) + 2 + len(e.bank_ref) > 34 or "//" in customer + e.bank_ref:
        raise ValueError("MT940 references are at most 34 characters together, without '//'")
    value = e.value_date or e.booking_date
    amount = _swift_amount(e.amount, e.currency)
    return f"{value:%y%m%d}{e.booking_date:%m%d}{mark}{amount}{code}{customer}//{e.bank_ref}"


def _field86(e: StatementEntry) -> list[str]:
    """The :86: lines (65 characters each, at most 6), checked to read back as ``e`` does."""
    name, account = e.counterparty_name, e.counterparty_account
    if name is None and account is None:
        text = e.remittance
        lines = (
            [
                chunk
                for paragraph in text.split("\n")
                for chunk in _cut(paragraph, LINE_WIDTH) or [""]
            ]
            if text
            else []
        )
    else:
        subfields = [("2" + str(i), c) for i, c in enumerate(_cut(e.remittance, SUBFIELD_WIDTH))]
        if len(subfields) > 10:
            raise ValueError("the remittance is too long for ?20-?29 (270 characters)")
        if account:
            subfields.append(("31", account))
        names = _cut(name or "", SUBFIELD_WIDTH)
        if len(names) > 2:
            raise ValueError("the counterparty name is too long for ?32/?33 (54 characters)")
        subfields.extend(zip(("32", "33"), names, strict=False))
        flat = ("166" if e.direction == "credit" else "116") + "".join(
            f"?{code}{value}" for code, value in subfields
        )
        lines = _cut(flat, LINE_WIDTH)
    if not lines:
        return []
    if len(lines) > 6:
        raise ValueError("the :86: field is longer than 6 lines of 65 characters")
    for line in lines[1:]:
        stripped = line.strip()
        if (
            not stripped
            or TAG_RE.match(line)
            or line.startswith("{")
            or stripped == "-"
            or stripped.startswith("-}")
        ):
            raise ValueError(f"the :86: line {line!r} would not read back as written")
    if _details(_Field("86", 0, lines)) != (e.remittance, name, account):
        raise ValueError("this remittance or counterparty would not read back from MT940")
    return lines


def _cut(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]
