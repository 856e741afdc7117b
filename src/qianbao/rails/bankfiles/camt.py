"""ISO 20022 camt.053 (account statements) and camt.054 (debit/credit notifications), any
version from .001.02 to .001.13: the elements the importer needs are named alike in all of them.

The file is streamed (``iterparse``): each child of a statement is read when it ends and then
cleared, so a statement of 100,000 entries never becomes a tree. A document type declaration is
refused before anything else is read (no entities are expanded, nothing is fetched)."""

from __future__ import annotations

import io
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

from lxml import etree

from qianbao.kernel.i18n import N_
from qianbao.kernel.money import CURRENCIES
from qianbao.rails.bankfiles._camt_entries import Builder, Element, EntryReader, free, text_of
from qianbao.rails.bankfiles._common import (
    MISSING,
    NO_CLOSING,
    NO_OPENING,
    check_control_sum,
    check_currency,
    money_text,
    parse_iso_datetime,
    refuse,
)
from qianbao.rails.bankfiles.model import FileKind, Statement

NAMESPACE_RE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[34])\.001\.(0[2-9]|1[0-3])")
_LAYOUT = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}
_STMT_CHILDREN = ("Id", "CreDtTm", "FrToDt", "Acct", "Bal", "TxsSummry", "Ntry")
_NOT_CAMT = N_("the XML document is not a camt.053 or camt.054 message ({root})")


def parse_camt(source: bytes | Path) -> list[Statement]:
    """Every statement (camt.053) or notification (camt.054) in the file; only booked entries."""
    if isinstance(source, Path):
        with source.open("rb") as fh:
            return _read(fh)
    return _read(io.BytesIO(source))


def _events(fh: IO[bytes], tags: list[str] | None = None) -> Any:
    return etree.iterparse(
        fh,
        events=("start", "end"),
        tag=tags,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )


def _read(fh: IO[bytes]) -> list[Statement]:
    try:
        reader = _sniff(fh)
        fh.seek(0)
        # Only the elements read are reported (lxml filters the others out in C): a statement's
        # children are read when they end, their descendants then looked up.
        names = {reader.wrapper, "GrpHdr", reader.stmt_tag, *_STMT_CHILDREN}
        for event, el in _events(fh, [reader.ns + name for name in names]):
            if event == "start":
                reader.start(el)
            else:
                reader.end(el)
    except etree.XMLSyntaxError as exc:
        refuse(
            exc.lineno or 1,
            N_("the file is not well-formed XML: {detail}"),
            detail=str(exc.msg or exc),
        )
    if not reader.statements:
        refuse(reader.wrapper_line, MISSING, element=f"{reader.wrapper}/{reader.stmt_tag}")
    return reader.statements


def _sniff(fh: IO[bytes]) -> _Reader:
    """The root and its first child, read before anything else: a document that is not camt.053
    or camt.054 (or that declares a DTD) is refused before its body is read."""
    reader: _Reader | None = None
    for event, el in _events(fh):
        if event != "start":
            break
        if reader is None:
            reader = _Reader(el)
            continue
        if reader.name(el) != reader.wrapper:
            refuse(el.sourceline or 1, _NOT_CAMT, root=str(el.tag))
        reader.wrapper_line = el.sourceline or 1
        break
    if reader is None:  # pragma: no cover - lxml reports an empty document as a syntax error
        refuse(1, N_("the file is not well-formed XML: {detail}"), detail="no element")
    return reader


class _Reader(EntryReader):
    def __init__(self, root: Element) -> None:
        if root.getroottree().docinfo.doctype:
            refuse(1, N_("the file declares a DTD or entities, which a bank statement never does"))
        namespace, _, local = str(root.tag)[1:].rpartition("}")
        match = NAMESPACE_RE.fullmatch(namespace)
        if local != "Document" or match is None:
            refuse(root.sourceline or 1, _NOT_CAMT, root=str(root.tag))
        self.kind = cast(FileKind, match[1])
        self.ns = "{" + namespace + "}"
        self.wrapper, self.stmt_tag = _LAYOUT[self.kind]
        self.wrapper_line = root.sourceline or 1
        self.statements: list[Statement] = []
        self.group_created: datetime | None = None
        self.current: Builder | None = None
        self.current_el: Element | None = None
        self._paths: dict[str, str] = {}

    # -- the stream ------------------------------------------------------------------------------

    def start(self, el: Element) -> None:
        if el.tag == self.q(self.stmt_tag) and self.name(el.getparent()) == self.wrapper:
            self.current = Builder(line=el.sourceline or 1)
            self.current_el = el

    def end(self, el: Element) -> None:
        parent = el.getparent()
        if self.current is not None and parent is self.current_el:  # a statement's child
            self.child(self.current, el)
            free(el)
        elif self.current is not None and el is self.current_el:
            self.statements.append(self.finish(self.current))
            self.current = self.current_el = None
            free(el)
        elif (
            el.tag == self.q("GrpHdr") and parent is not None and self.name(parent) == self.wrapper
        ):
            created = self.find(el, "CreDtTm")
            if created is not None:
                self.group_created = parse_iso_datetime(
                    text_of(created), line=created.sourceline, element="GrpHdr/CreDtTm"
                )
            free(el)

    def child(self, b: Builder, el: Element) -> None:
        name, line = self.name(el), el.sourceline or b.line
        if name == "Id":
            b.statement_id = text_of(el)
        elif name == "CreDtTm":
            b.created_at = parse_iso_datetime(text_of(el), line=line, element="CreDtTm")
        elif name == "FrToDt":
            b.from_date = self.date_choice(el, ("FrDtTm", "FrDt"), line)
            b.to_date = self.date_choice(el, ("ToDtTm", "ToDt"), line)
        elif name == "Acct":
            b.account = self.text(el, "Id/IBAN") or self.text(el, "Id/Othr/Id")
            ccy = self.find(el, "Ccy")
            code = text_of(ccy)
            if ccy is not None and code is not None:
                ccy_line = ccy.sourceline or line
                self.use_currency(b, check_currency(code, line=ccy_line), ccy_line)
        elif name == "Bal":
            self.balance(b, el, line)
        elif name == "TxsSummry":
            for key, path in (("count", "TtlNtries/NbOfNtries"), ("sum", "TtlNtries/Sum")):
                found = self.find(el, path)
                if found is not None and text_of(found):
                    stated = (text_of(found) or "", found.sourceline or line)
                    if key == "count":
                        b.stated_count = stated
                    else:
                        b.stated_sum = stated
        elif name == "Ntry":
            self.entry(b, el, line)

    # -- balances and figures ------------------------------------------------------------------

    def balance(self, b: Builder, el: Element, line: int) -> None:
        code = self.text(el, "Tp/CdOrPrtry/Cd")
        if self.kind != "camt.053" or code not in ("OPBD", "PRCD", "CLBD"):
            return
        amt = self.find(el, "Amt")
        if amt is None:
            refuse(line, MISSING, element="Bal/Amt")
        minor, _ = self.amount(b, amt, allow_zero=True)
        signed = (
            minor
            if self.indicator(self.find(el, "CdtDbtInd"), line, "Bal/CdtDbtInd") == "credit"
            else -minor
        )
        b.balances[code] = (signed, line)

    def finish(self, b: Builder) -> Statement:
        if b.statement_id is None:
            refuse(b.line, MISSING, element=f"{self.stmt_tag}/Id")
        if b.account is None:
            refuse(b.line, MISSING, element=f"{self.stmt_tag}/Acct/Id")
        if b.currency is None:
            refuse(b.line, MISSING, element=f"{self.stmt_tag}/Acct/Ccy")
        self.check_summary(b, b.currency)
        opening = closing = None
        if self.kind == "camt.053":
            opened = b.balances.get("OPBD") or b.balances.get("PRCD")
            closed = b.balances.get("CLBD")
            if opened is None:
                refuse(b.line, NO_OPENING)
            if closed is None:
                refuse(b.line, NO_CLOSING)
            opening, closing = opened[0], closed[0]
            check_control_sum(opening, closing, b.entries, b.currency, line=closed[1])
        return Statement(
            kind=self.kind,
            statement_id=b.statement_id,
            account=b.account,
            currency=b.currency,
            created_at=b.created_at or self.group_created,
            from_date=b.from_date,
            to_date=b.to_date,
            opening=opening,
            closing=closing,
            entries=b.entries,
        )

    def check_summary(self, b: Builder, currency: str) -> None:
        """TxsSummry/TtlNtries must agree with the entries (all of them, or the booked ones)."""
        if b.stated_count is not None:
            stated, line = b.stated_count
            if (
                not stated.isascii()
                or not stated.isdigit()
                or (int(stated) not in (b.count_all, b.count_booked))
            ):
                refuse(
                    line,
                    N_("the summary counts {stated} entries, the statement has {counted}"),
                    stated=stated,
                    counted=b.count_all,
                )
        if b.stated_sum is not None:
            stated, line = b.stated_sum
            exponent = CURRENCIES[currency].exponent
            sums = (Decimal(b.sum_all).scaleb(-exponent), Decimal(b.sum_booked).scaleb(-exponent))
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", stated) or Decimal(stated) not in sums:
                refuse(
                    line,
                    N_("the summary's sum {stated} differs from the entries' sum {computed}"),
                    stated=stated,
                    computed=money_text(b.sum_all, currency),
                )
