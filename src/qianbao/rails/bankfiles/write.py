"""Writers for demo data, tests and benchmarks: camt.053.001.02 and camt.054.001.02 (the versions
banks most often send; the output validates against the ISO schemas) and plain MT940.

``parse(write(statement))`` gives ``statement`` back (but for ``line``); a writer raises
``ValueError`` for what its format cannot carry rather than write something that reads back
differently. ``iter_camt053`` writes a very large statement in chunks, never holding it whole."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from qianbao.kernel.money import Money
from qianbao.rails.bankfiles.model import Statement, StatementEntry
from qianbao.rails.bankfiles.write_mt940 import mt940

NS_CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
NS_CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"
USTRD_WIDTH = 140
_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}")

__all__ = ["camt053", "camt054", "iter_camt053", "mt940"]

Entries = Sequence[StatementEntry] | Callable[[], Iterable[StatementEntry]]


def camt053(
    statement: Statement,
    *,
    message_id: str,
    created_at: datetime,
    account_name: str,
    bic: str | None,
) -> bytes:
    """A camt.053.001.02 document; the closing balance is the statement's (or computed)."""
    return b"".join(
        _camt(
            statement,
            statement.entries,
            "camt.053",
            message_id=message_id,
            created_at=created_at,
            account_name=account_name,
            bic=bic,
            closing=statement.closing,
        )
    )


def camt054(
    statement: Statement,
    *,
    message_id: str,
    created_at: datetime,
    account_name: str,
    bic: str | None,
) -> bytes:
    """A camt.054.001.02 notification (no balances)."""
    return b"".join(
        _camt(
            statement,
            statement.entries,
            "camt.054",
            message_id=message_id,
            created_at=created_at,
            account_name=account_name,
            bic=bic,
            closing=None,
        )
    )


def iter_camt053(
    statement: Statement,
    entries: Entries,
    *,
    message_id: str,
    created_at: datetime,
    account_name: str,
    bic: str | None,
    chunk_entries: int = 1000,
) -> Iterator[bytes]:
    """camt.053.001.02 in chunks of ``chunk_entries`` entries, for files too big to hold.

    ``entries`` is a sequence or a function giving a fresh iterable each call: it is read twice,
    first for the totals and the closing balance (``statement.opening`` plus the entries; the
    statement's own ``entries`` and ``closing`` are not used), then to write the entries."""
    return _camt(
        statement,
        entries,
        "camt.053",
        message_id=message_id,
        created_at=created_at,
        account_name=account_name,
        bic=bic,
        closing=None,
        chunk_entries=chunk_entries,
    )


@dataclass(slots=True)
class _Totals:
    count: int = 0
    credits: int = 0
    debits: int = 0
    count_credits: int = 0

    def add(self, entry: StatementEntry) -> None:
        self.count += 1
        if entry.direction == "credit":
            self.credits += entry.amount
            self.count_credits += 1
        else:
            self.debits += entry.amount


def _camt(
    statement: Statement,
    entries: Entries,
    kind: str,
    *,
    message_id: str,
    created_at: datetime,
    account_name: str,
    bic: str | None,
    closing: int | None,
    chunk_entries: int = 1000,
) -> Iterator[bytes]:
    def each() -> Iterable[StatementEntry]:
        return entries() if callable(entries) else entries

    totals = _Totals()
    for entry in each():
        totals.add(entry)
    cur = statement.currency
    ns, wrapper, tag = (
        (NS_CAMT053, "BkToCstmrStmt", "Stmt")
        if kind == "camt.053"
        else (NS_CAMT054, "BkToCstmrDbtCdtNtfctn", "Ntfctn")
    )
    yield (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}">\n  <{wrapper}>\n'
    ).encode()
    header = _el("GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", created_at.isoformat())
    yield _xml(header, 2)
    yield f"    <{tag}>\n".encode()
    head: list[etree._Element] = [_el("Id", statement.statement_id)]
    head.append(_el("CreDtTm", (statement.created_at or created_at).isoformat()))
    if statement.from_date is not None and statement.to_date is not None:
        period = _el("FrToDt")
        _sub(period, "FrDtTm", f"{statement.from_date.isoformat()}T00:00:00+08:00")
        _sub(period, "ToDtTm", f"{statement.to_date.isoformat()}T23:59:59+08:00")
        head.append(period)
    head.append(_account("Acct", statement.account, cur, account_name, bic))
    if kind == "camt.053":
        opening = statement.opening or 0
        if closing is None:
            closing = opening + totals.credits - totals.debits
        day = statement.from_date or created_at.date()
        head.append(_balance("OPBD", opening, cur, day))
        head.append(_balance("CLBD", closing, cur, statement.to_date or day))
    head.append(_summary(totals, cur))
    for el in head:
        yield _xml(el, 3)
    chunk: list[bytes] = []
    for entry in each():
        chunk.append(_entry(entry))
        if len(chunk) >= chunk_entries:
            yield b"".join(chunk)
            chunk.clear()
    yield b"".join(chunk)
    yield f"    </{tag}>\n  </{wrapper}>\n</Document>\n".encode()


def _el(tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.Element(tag, attrib)
    el.text = text
    return el


def _sub(
    parent: etree._Element, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    el = etree.SubElement(parent, tag, attrib)
    el.text = text
    return el


def _xml(el: etree._Element, level: int) -> bytes:
    """The element in no namespace: inside ``<Document xmlns=...>`` it takes the document's."""
    etree.indent(el, space="  ", level=level)
    return b"  " * level + etree.tostring(el, encoding="UTF-8") + b"\n"


def _amount(minor: int, currency: str) -> str:
    return Money(abs(minor), currency).to_decimal_string()


def _account_id(parent: etree._Element, account: str) -> None:
    ident = _sub(parent, "Id")
    if _IBAN_RE.fullmatch(account):
        _sub(ident, "IBAN", account)
    else:
        _sub(_sub(ident, "Othr"), "Id", account)


def _account(tag: str, account: str, cur: str, name: str, bic: str | None) -> etree._Element:
    el = _el(tag)
    _account_id(el, account)
    _sub(el, "Ccy", cur)
    _sub(el, "Nm", name)
    if bic:
        _sub(_sub(_sub(el, "Svcr"), "FinInstnId"), "BIC", bic)
    return el


def _balance(code: str, signed: int, cur: str, day: date) -> etree._Element:
    el = _el("Bal")
    _sub(_sub(_sub(el, "Tp"), "CdOrPrtry"), "Cd", code)
    _sub(el, "Amt", _amount(signed, cur), Ccy=cur)
    _sub(el, "CdtDbtInd", "DBIT" if signed < 0 else "CRDT")
    _sub(_sub(el, "Dt"), "Dt", day.isoformat())
    return el


def _summary(t: _Totals, cur: str) -> etree._Element:
    el = _el("TxsSummry")
    net = t.credits - t.debits
    total = _sub(el, "TtlNtries")
    _sub(total, "NbOfNtries", str(t.count))
    _sub(total, "Sum", _amount(t.credits + t.debits, cur))
    _sub(total, "TtlNetNtryAmt", _amount(net, cur))
    _sub(total, "CdtDbtInd", "DBIT" if net < 0 else "CRDT")
    for tag, count, amount in (
        ("TtlCdtNtries", t.count_credits, t.credits),
        ("TtlDbtNtries", t.count - t.count_credits, t.debits),
    ):
        part = _sub(el, tag)
        _sub(part, "NbOfNtries", str(count))
        _sub(part, "Sum", _amount(amount, cur))
    return el


_INVALID_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _esc(text: str) -> str:
    """Text content, escaped (a CR is kept as a character reference, not normalised away)."""
    if _INVALID_XML_CHAR.search(text):
        raise ValueError(f"{text!r} holds a character XML cannot carry")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")


def _entry(e: StatementEntry) -> bytes:
    """One ``Ntry``, written as text (25 elements each: lxml's builder would be the cost of a
    100,000-entry file), laid out as ``_xml`` lays out the rest."""
    out = [
        "<Ntry>",
        f'  <Amt Ccy="{_esc(e.currency)}">{_amount(e.amount, e.currency)}</Amt>',
        f"  <CdtDbtInd>{'CRDT' if e.direction == 'credit' else 'DBIT'}</CdtDbtInd>",
    ]
    if e.reversal:
        out.append("  <RvslInd>true</RvslInd>")
    out += ["  <Sts>BOOK</Sts>", "  <BookgDt>", f"    <Dt>{e.booking_date}</Dt>", "  </BookgDt>"]
    if e.value_date is not None:
        out += ["  <ValDt>", f"    <Dt>{e.value_date}</Dt>", "  </ValDt>"]
    out.append(f"  <AcctSvcrRef>{_esc(e.bank_ref)}</AcctSvcrRef>")
    parts = [_esc(part) for part in (e.bank_tx_code or "").split("/")]
    if len(parts) == 3:
        out += [
            "  <BkTxCd>",
            "    <Domn>",
            f"      <Cd>{parts[0]}</Cd>",
            "      <Fmly>",
            f"        <Cd>{parts[1]}</Cd>",
            f"        <SubFmlyCd>{parts[2]}</SubFmlyCd>",
            "      </Fmly>",
            "    </Domn>",
            "  </BkTxCd>",
        ]
    elif e.bank_tx_code:
        out += ["  <BkTxCd>", "    <Prtry>", f"      <Cd>{parts[0]}</Cd>", "    </Prtry>"]
        out.append("  </BkTxCd>")
    else:
        out.append("  <BkTxCd/>")
    has_party = e.counterparty_name is not None or e.counterparty_account is not None
    if e.end_to_end_id is not None or has_party or e.remittance:
        out += ["  <NtryDtls>", "    <TxDtls>"]
        if e.end_to_end_id is not None:
            out += ["      <Refs>", f"        <EndToEndId>{_esc(e.end_to_end_id)}</EndToEndId>"]
            out.append("      </Refs>")
        if has_party:
            out += ["      <RltdPties>", *_party(e), "      </RltdPties>"]
        if e.remittance:
            out.append("      <RmtInf>")
            for at in range(0, len(e.remittance), USTRD_WIDTH):
                chunk = _esc(e.remittance[at : at + USTRD_WIDTH])
                out.append(f"        <Ustrd>{chunk}</Ustrd>")
            out.append("      </RmtInf>")
        out += ["    </TxDtls>", "  </NtryDtls>"]
    out.append("</Ntry>")
    return "".join(f"      {line}\n" for line in out).encode()


def _party(e: StatementEntry) -> list[str]:
    """The other party: the payer of a credit, the payee of a debit (swapped for a reversal,
    which names the parties of the transaction it reverses)."""
    side = "Dbtr" if (e.direction == "credit") != e.reversal else "Cdtr"
    out = []
    if e.counterparty_name is not None:
        out += [f"        <{side}>", f"          <Nm>{_esc(e.counterparty_name)}</Nm>"]
        out.append(f"        </{side}>")
    if e.counterparty_account is not None:
        account = _esc(e.counterparty_account)
        out += [f"        <{side}Acct>", "          <Id>"]
        if _IBAN_RE.fullmatch(e.counterparty_account):
            out.append(f"            <IBAN>{account}</IBAN>")
        else:
            out += ["            <Othr>", f"              <Id>{account}</Id>"]
            out.append("            </Othr>")
        out += ["          </Id>", f"        </{side}Acct>"]
    return out
