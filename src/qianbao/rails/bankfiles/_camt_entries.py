"""How a camt entry (``Ntry``) becomes ``StatementEntry``s, and the lookups the reader shares:
elements are found by local name in the document's own namespace, whatever its version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from qianbao.kernel.i18n import N_
from qianbao.rails.bankfiles._common import (
    CURRENCY_MISMATCH,
    MISSING,
    NO_BANK_REF,
    join_chunks,
    money_text,
    parse_amount,
    parse_iso_date,
    parse_iso_datetime,
    refuse,
)
from qianbao.rails.bankfiles.model import Direction, FileKind, StatementEntry

USTRD_WIDTH = 140  # Max140Text: a full Ustrd was cut at the limit, the next one continues it

Element = Any  # lxml's _Element (lxml ships no stubs mypy reads here)


def text_of(el: Element | None) -> str | None:
    """A leaf element's text, stripped (comments are removed while parsing, so it is whole)."""
    if el is None:
        return None
    text = el.text
    return (text.strip() or None) if text else None


def free(el: Element) -> None:
    """Drop what has been read: the element's content and the siblings before it."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


@dataclass(slots=True)
class Builder:
    line: int
    statement_id: str | None = None
    account: str | None = None
    currency: str | None = None
    created_at: datetime | None = None
    from_date: date | None = None
    to_date: date | None = None
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (amount, line)
    stated_count: tuple[str, int] | None = None
    stated_sum: tuple[str, int] | None = None
    entries: list[StatementEntry] = field(default_factory=list)
    # per Ntry element, for TxsSummry: every entry, and the booked ones
    count_all: int = 0
    count_booked: int = 0
    sum_all: int = 0
    sum_booked: int = 0


class EntryReader:
    """The lookups and the entry reading of ``camt._Reader``."""

    kind: FileKind
    ns: str  # "{namespace}"
    _paths: dict[str, str]

    # -- lookups by local name, in the document's namespace ---------------------------------

    def q(self, path: str) -> str:
        found = self._paths.get(path)
        if found is None:
            found = self._paths[path] = "/".join(self.ns + part for part in path.split("/"))
        return found

    def find(self, el: Element | None, path: str) -> Element | None:
        return None if el is None else el.find(self.q(path))

    def text(self, el: Element | None, path: str) -> str | None:
        return None if el is None else text_of(el.find(self.q(path)))

    def name(self, el: Element) -> str:
        tag = el.tag
        return tag[len(self.ns) :] if isinstance(tag, str) and tag.startswith(self.ns) else ""

    def kids(self, el: Element | None) -> dict[str, Element]:
        """The element's children by local name (the first of each): one pass, then lookups."""
        found: dict[str, Element] = {}
        if el is not None:
            cut = len(self.ns)
            for child in el:
                found.setdefault(child.tag[cut:], child)
        return found

    def use_currency(self, b: Builder, currency: str, line: int) -> None:
        if b.currency is None:
            b.currency = currency
        elif currency != b.currency:
            refuse(line, CURRENCY_MISMATCH, currency=currency, expected=b.currency)

    def amount(self, b: Builder, amt: Element, *, allow_zero: bool = False) -> tuple[int, str]:
        line = amt.sourceline or b.line
        ccy = (amt.get("Ccy") or "").strip()
        if not ccy:
            refuse(line, MISSING, element="Amt/@Ccy")
        minor = parse_amount(text_of(amt) or "", ccy, line=line, allow_zero=allow_zero)
        self.use_currency(b, ccy, line)
        return minor, ccy

    def indicator(self, found: Element | None, line: int, element: str) -> Direction:
        """A CdtDbtInd element: CRDT or DBIT."""
        value = text_of(found)
        if found is None or value is None:
            refuse(line, MISSING, element=element)
        if value in ("CRDT", "DBIT"):
            return "credit" if value == "CRDT" else "debit"
        refuse(
            found.sourceline or line,
            N_("the credit/debit indicator {value} is neither CRDT nor DBIT"),
            value=value,
        )

    def date_choice(self, el: Element | None, names: tuple[str, ...], line: int) -> date | None:
        """A date given as a date or as a date and time (its own calendar day): the first of
        ``names`` that ``el`` has."""
        for name in names:
            found = self.find(el, name)
            if found is not None:
                fline = found.sourceline or line
                if name.endswith("DtTm"):
                    return parse_iso_datetime(text_of(found), line=fline, element=name).date()
                return parse_iso_date(text_of(found), line=fline, element=name)
        return None

    # -- entries ---------------------------------------------------------------------------------

    def entry(self, b: Builder, el: Element, line: int) -> None:
        k = self.kids(el)
        amt = k.get("Amt")
        if amt is None:
            refuse(line, MISSING, element="Ntry/Amt")
        amount, ccy = self.amount(b, amt)
        direction = self.indicator(k.get("CdtDbtInd"), line, "Ntry/CdtDbtInd")
        status_el = k.get("Sts")
        if status_el is None:
            refuse(line, MISSING, element="Ntry/Sts")
        status = (  # .02 to .07: <Sts>BOOK</Sts>; later: <Sts><Cd>BOOK</Cd></Sts>
            text_of(status_el) or self.text(status_el, "Cd") or self.text(status_el, "Prtry")
        )
        b.count_all += 1
        b.sum_all += amount
        if status != "BOOK":  # pending or information only: not on the account (yet)
            return
        b.count_booked += 1
        b.sum_booked += amount
        booking = self.date_choice(k.get("BookgDt"), ("Dt", "DtTm"), line)
        if booking is None:
            refuse(line, MISSING, element="Ntry/BookgDt")
        value = self.date_choice(k.get("ValDt"), ("Dt", "DtTm"), line)
        reversal = (text_of(k.get("RvslInd")) or "").lower() in ("true", "1")
        details = el.findall(self.q("NtryDtls/TxDtls"))
        ref = (
            text_of(k.get("AcctSvcrRef"))
            or (self.text(details[0], "Refs/AcctSvcrRef") if details else None)
            or text_of(k.get("NtryRef"))
        )
        if ref is None:
            refuse(line, NO_BANK_REF)
        common = {
            "line": line,
            "currency": ccy,
            "booking_date": booking,
            "value_date": value,
            "bank_tx_code": self.bank_tx_code(k.get("BkTxCd")),
            "reversal": reversal,
        }
        fallback = text_of(k.get("AddtlNtryInf")) or ""
        parts = self.batch(b, details, line, direction) if len(details) > 1 else None
        if parts is None:
            tx = details[0] if details else None
            b.entries.append(self.make(tx, ref, amount, direction, fallback, common))
            return
        net = 0
        for i, (tx, part, part_direction) in enumerate(parts, start=1):
            b.entries.append(self.make(tx, f"{ref}/{i}", part, part_direction, fallback, common))
            net += part if part_direction == direction else -part
        if net != amount:
            refuse(
                line,
                N_("the transactions of the batch add up to {computed}, the entry says {amount}"),
                computed=money_text(net, ccy),
                amount=money_text(amount, ccy),
            )

    def batch(
        self, b: Builder, details: list[Element], line: int, direction: Direction
    ) -> list[tuple[Element, int, Direction]] | None:
        """A batch's transactions, each with its own amount; ``None`` if one has none."""
        amounts = []
        for tx in details:
            amt = self.find(tx, "Amt")
            if amt is None:
                amt = self.find(tx, "AmtDtls/TxAmt/Amt")
            if amt is None:
                return None
            amounts.append(amt)
        parts: list[tuple[Element, int, Direction]] = []
        for tx, amt in zip(details, amounts, strict=True):
            minor, _ = self.amount(b, amt)
            own = self.find(tx, "CdtDbtInd")
            tx_line = tx.sourceline or line
            tx_direction = direction if own is None else self.indicator(own, tx_line, "CdtDbtInd")
            parts.append((tx, minor, tx_direction))
        return parts

    def bank_tx_code(self, bk: Element | None) -> str | None:
        """Domain/family/sub-family (``PMNT/RCDT/DMCT``), else the bank's proprietary code."""
        domain = self.find(bk, "Domn")
        if domain is not None:
            family = self.find(domain, "Fmly")
            parts = (
                self.text(domain, "Cd"),
                self.text(family, "Cd"),
                self.text(family, "SubFmlyCd"),
            )
            if parts[0]:
                return "/".join(part for part in parts if part)
        return self.text(bk, "Prtry/Cd")

    def make(
        self,
        tx: Element | None,
        ref: str,
        amount: int,
        direction: Direction,
        fallback: str,
        common: dict[str, Any],
    ) -> StatementEntry:
        reversal = bool(common["reversal"])
        if tx is None:
            return StatementEntry(
                bank_ref=ref, amount=amount, direction=direction, remittance=fallback, **common
            )
        k = self.kids(tx)
        e2e = self.text(k.get("Refs"), "EndToEndId")
        remittance = fallback
        rmt = k.get("RmtInf")
        if rmt is not None:
            ustrd = [u.text or "" for u in rmt.iterchildren(self.q("Ustrd"))]
            structured = [self.text(s, "CdtrRefInf/Ref") for s in rmt.iterchildren(self.q("Strd"))]
            pieces = [join_chunks(ustrd, USTRD_WIDTH).strip(), *structured]
            remittance = " ".join(p for p in pieces if p)
        # The other party: who paid us (credit) or whom we paid (debit); a reversal names the
        # parties of the transaction it reverses, so the sides swap.
        parties = self.kids(k.get("RltdPties"))
        side = "Dbtr" if (direction == "credit") != reversal else "Cdtr"
        name, account = self.party(parties, side)
        if reversal and name is None and account is None:
            name, account = self.party(parties, "Cdtr" if side == "Dbtr" else "Dbtr")
        return StatementEntry(
            bank_ref=ref,
            amount=amount,
            direction=direction,
            remittance=remittance,
            end_to_end_id=None if e2e in (None, "NOTPROVIDED") else e2e,
            counterparty_name=name,
            counterparty_account=account,
            **common,
        )

    def party(self, parties: dict[str, Element], side: str) -> tuple[str | None, str | None]:
        """Name and account of Dbtr or Cdtr: ``Nm`` up to .07, ``Pty/Nm`` from .08 on."""
        party = parties.get(side)
        name = self.text(party, "Nm") or self.text(party, "Pty/Nm")
        account_id = self.find(parties.get(side + "Acct"), "Id")
        account = self.text(account_id, "IBAN") or self.text(account_id, "Othr/Id")
        return name, account
