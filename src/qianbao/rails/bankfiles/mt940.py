"""SWIFT MT940 customer statements: one file may hold several, bare or wrapped in SWIFT blocks
(``{1:...}{2:...}{4:`` ... ``-}``).

The ``:61:`` statement line is read with the grammar of the ``mt940`` package (B2CK/Tryton,
``mt940.TRANSACTION_RE``). Its ``MT940`` class itself is not used: it keeps no line numbers,
ignores ``:60M:``/``:62M:`` (a statement without ``:28:`` then fails with a ``TypeError``), takes
the entry date's year from the value date even across New Year, and answers malformed input with
``AttributeError`` (a ``:61:`` its grammar does not match), ``IndexError`` (``:86:`` before any
``:61:``), ``ValueError`` (a bad date, a ``:61:`` of three lines) or ``decimal.InvalidOperation``
(a bad amount). Here the fields are split with their line numbers, amounts go through
``Money.parse``, and every refusal is a ``BankFileInvalid`` naming the line."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mt940 import TRANSACTION_RE

from qianbao.kernel.i18n import N_
from qianbao.rails.bankfiles._common import (
    CURRENCY_MISMATCH,
    INVALID_DATE,
    MISSING,
    NO_BANK_REF,
    NO_CLOSING,
    NO_OPENING,
    NOT_A_STATEMENT,
    NOT_DECIMAL,
    check_control_sum,
    join_chunks,
    parse_amount,
    refuse,
    yymmdd,
)
from qianbao.rails.bankfiles.model import Direction, Statement, StatementEntry

LINE_WIDTH = 65  # a field's continuation lines (:86: is 6 lines of 65 characters)
SUBFIELD_WIDTH = 27  # a German structured :86: subfield (?20 ... ?29, ?32, ?33)
TAG_RE = re.compile(r":([0-9]{2}[A-Z]?):(.*)")
STRUCTURED_RE = re.compile(r"(?:[0-9]{3})?\?[0-9]{2}")
_BALANCE_RE = re.compile(r"([CD])([0-9]{6})([A-Z]{3})(.*)")
_SINGLE = {
    "25": "25",
    "28": "28C",
    "28C": "28C",
    "60F": "60",
    "60M": "60",
    "62F": "62",
    "62M": "62",
}
_INVALID_FIELD = N_("the field {tag} is not valid: {value}")


@dataclass(slots=True)
class _Field:
    tag: str
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def value(self) -> str:
        return self.lines[0].strip()


def parse_mt940(source: bytes | Path) -> list[Statement]:
    """Every statement in the file, in file order."""
    data = source.read_bytes() if isinstance(source, Path) else source
    groups: list[list[_Field]] = []
    for f in _fields(_decode(data)):
        if f.tag == "20":
            groups.append([f])
        elif groups:
            groups[-1].append(f)
        elif f.tag in _SINGLE or f.tag in ("61", "86"):
            refuse(
                f.line, N_("the field {tag} comes before the statement's :20:"), tag=f":{f.tag}:"
            )
    if not groups:
        refuse(1, NOT_A_STATEMENT)
    return [_statement(group) for group in groups]


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        refuse(data[: exc.start].count(b"\n") + 1, N_("the file is neither UTF-8 nor GB18030 text"))


def _fields(text: str) -> list[_Field]:
    """The tagged fields with the line each starts on; SWIFT block wrappers and the lines
    outside a text block (headers, ``{5:`` trailers) are dropped."""
    fields: list[_Field] = []
    current: _Field | None = None
    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = raw
        if line.startswith("{"):  # {1:...}{2:...}{4: — the text block starts after "{4:"
            current = None
            at = line.find("{4:")
            if at < 0:
                continue
            line = line[at + 3 :]
        stripped = line.strip()
        if stripped == "-" or stripped.startswith("-}"):  # end of a message
            current = None
        elif (match := TAG_RE.match(line)) is not None:
            current = _Field(match[1], number, [match[2]])
            fields.append(current)
        elif current is not None and stripped:
            current.lines.append(line)
    return fields


def _statement(fields: list[_Field]) -> Statement:
    head = fields[0]
    if not head.value:
        refuse(head.line, MISSING, element=":20:")
    single: dict[str, _Field] = {}
    pairs: list[list[_Field | None]] = []  # [:61:, its :86: or None]
    for f in fields[1:]:
        key = _SINGLE.get(f.tag)
        if key is not None:
            if key in single:
                refuse(
                    f.line, N_("the field {tag} appears twice in one statement"), tag=f":{f.tag}:"
                )
            single[key] = f
        elif f.tag == "61":
            if "62" in single:
                refuse(f.line, N_("the field {tag} comes after the closing balance"), tag=":61:")
            pairs.append([f, None])
        elif f.tag == "86" and pairs and pairs[-1][1] is None and "62" not in single:
            pairs[-1][1] = f  # else: information on the whole statement, not kept
    account = single.get("25")
    if account is None or not account.value:
        refuse(head.line, MISSING, element=":25:")
    if "60" not in single:
        refuse(head.line, NO_OPENING)
    if "62" not in single:
        refuse(head.line, NO_CLOSING)
    opening, currency, from_date = _balance(single["60"])
    closing, closing_currency, to_date = _balance(single["62"])
    if closing_currency != currency:
        refuse(single["62"].line, CURRENCY_MISMATCH, currency=closing_currency, expected=currency)
    entries = [_entry(f61, f86, currency) for f61, f86 in pairs if f61 is not None]
    check_control_sum(opening, closing, entries, currency, line=single["62"].line)
    number = single["28C"].value if "28C" in single else ""
    return Statement(
        kind="mt940",
        statement_id=f"{head.value}/{number}" if number else head.value,
        account=account.value,
        currency=currency,
        created_at=None,
        from_date=from_date,
        to_date=to_date,
        opening=opening,
        closing=closing,
        entries=entries,
    )


def _swift_amount(text: str, currency: str, line: int, *, allow_zero: bool = False) -> int:
    """``1234,5`` (a comma is the decimal mark; no other separator) in minor units."""
    if re.fullmatch(r"[0-9]+,[0-9]*", text) is None:
        refuse(line, NOT_DECIMAL, value=text)
    whole, _, frac = text.partition(",")
    return parse_amount(
        f"{whole}.{frac}" if frac else whole, currency, line=line, allow_zero=allow_zero
    )


def _balance(f: _Field) -> tuple[int, str, date]:
    """``:60F:C240501CNY1234,56`` → (signed minor units, currency, date)."""
    match = _BALANCE_RE.fullmatch(f.value)
    if match is None:
        refuse(f.line, _INVALID_FIELD, tag=f":{f.tag}:", value=f.value)
    mark, day, currency, amount = match.groups()
    when = yymmdd(day, line=f.line)
    minor = _swift_amount(amount, currency, f.line, allow_zero=True)
    return (minor if mark == "C" else -minor), currency, when


def _entry(f61: _Field, f86: _Field | None, currency: str) -> StatementEntry:
    line = f61.line
    match = TRANSACTION_RE.match(f61.lines[0])
    # (its grammar reads at most 34 characters of references: more would be cut off unseen)
    if match is None or match.end() < len(f61.lines[0].rstrip()):
        refuse(line, _INVALID_FIELD, tag=":61:", value=f61.value)
    value_date = yymmdd(match["date"], line=line)
    booking = _entry_date(value_date, match["booking"], line) if match["booking"] else value_date
    sign = match["sign"]
    # RD: a debit reversed, so money comes back in; RC: a credit reversed, so it goes out again.
    direction: Direction = "credit" if sign in ("C", "RD") else "debit"
    amount = _swift_amount(match["amount"], currency, line)
    customer, _, bank = match["reference"].partition("//")
    customer, bank = customer.strip(), bank.strip()
    own = customer if customer and customer.upper() != "NONREF" else ""
    if not (bank or own):
        refuse(line, NO_BANK_REF)
    remittance, name, account = _details(f86)
    return StatementEntry(
        line=line,
        bank_ref=bank or own,
        amount=amount,
        direction=direction,
        currency=currency,
        booking_date=booking,
        value_date=value_date,
        remittance=remittance,
        end_to_end_id=(own or None) if bank else None,
        counterparty_name=name,
        counterparty_account=account,
        bank_tx_code=match["id"],
        reversal=sign.startswith("R"),
    )


def _entry_date(value_date: date, mmdd: str, line: int) -> date:
    """The entry (booking) date is ``MMDD``: its year is the value date's, or the one before or
    after when the two straddle New Year."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    year = value_date.year
    if month - value_date.month > 6:
        year -= 1
    elif value_date.month - month > 6:
        year += 1
    try:
        return date(year, month, day)
    except ValueError:
        refuse(line, INVALID_DATE, value=mmdd)


def _details(f86: _Field | None) -> tuple[str, str | None, str | None]:
    """(remittance, counterparty name, counterparty account) from a :86: field.

    A German structured :86: (``166?00...?20...?32...``) gives the remittance from ?20–?29 and
    ?60–?63, the other party's name from ?32/?33 and account from ?31; any other :86: is the
    remittance as sent (lines cut at the 65-character limit are joined back)."""
    if f86 is None:
        return "", None, None
    flat = "".join(f86.lines)
    if STRUCTURED_RE.match(flat) is None:
        return join_chunks(f86.lines, LINE_WIDTH, "\n").strip(), None, None
    parts = re.split(r"\?([0-9]{2})", flat)
    subfields = list(zip(parts[1::2], parts[2::2], strict=True))
    remittance = [v for code, v in subfields if "20" <= code <= "29" or "60" <= code <= "63"]
    name = join_chunks([v for code, v in subfields if code in ("32", "33")], SUBFIELD_WIDTH)
    account = "".join(v for code, v in subfields if code == "31").strip()
    return join_chunks(remittance, SUBFIELD_WIDTH).strip(), name.strip() or None, account or None
