"""ISO 20022 pain.002 (customer payment status report), versions .001.03 to .001.12: the bank's
answer to a pain.001 payout file, read into ``StatusReport``; and a writer of pain.002.001.10
for tests, the demo and the development bank.

Reading is streamed (``iterparse``) and safe as in ``camt.py``: a document type declaration is
refused before anything else is read, no entity is expanded, nothing is fetched, and each
``TxInfAndSts`` is dropped once read. A transaction without its own ``TxSts`` takes its payment
information's status, else the group's. A ``PmtInfSts`` given with no transactions applies to
all of them: Qianbao's files have one ``PmtInf``, so it is reported as the group status when
the group gives none. A group status (``RJCT``) with no items means every transaction of the
original message has it: the caller resolves that against the file it sent."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from qianbao.kernel.i18n import N_
from qianbao.rails.bankfiles._camt_entries import free, text_of
from qianbao.rails.bankfiles._common import MISSING, join_chunks, refuse
from qianbao.rails.bankfiles._pain001 import DTD, NOT_XML, XML_DECLARATION

NAMESPACE_RE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:pain\.002\.001\.(0[3-9]|1[0-2])")
NS_PAIN002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"  # what the writer writes
ADDTL_WIDTH = 105  # Max105Text: a full AddtlInf was cut at the limit, the next one continues it
_STATUS_RE = re.compile(r"[A-Z]{4}")
_ID_RE = re.compile(r"[!-~](?:[ -~]{0,33}[!-~])?")
_NOT_PAIN002 = N_("the XML document is not a pain.002 status report ({root})")
_BAD_STATUS = N_("the status {value} is not an ISO 20022 status code")
_NO_STATUS = N_("the status report gives no status for the group or any transaction")


@dataclass(frozen=True, slots=True)
class TxStatus:
    end_to_end_id: str  # OrgnlEndToEndId: the payout's EndToEndId in our pain.001
    status: str  # ACSC, ACCC, ACSP, ACTC, ACCP, ACWC, PDNG, RCVD, RJCT, ...
    reason_code: str | None  # StsRsnInf/Rsn/Cd (AC04, ...) or Rsn/Prtry
    reason_text: str | None  # every AddtlInf, joined
    line: int  # where TxInfAndSts starts, for messages


@dataclass(frozen=True, slots=True)
class StatusReport:
    message_id: str  # the report's GrpHdr/MsgId
    original_message_id: str  # our pain.001's MsgId
    group_status: str | None  # GrpSts (or a lone PmtInfSts); RJCT and no items: all rejected
    items: list[TxStatus] = field(default_factory=list)
    group_reason_code: str | None = None  # the group's StsRsnInf (FF01, DU01, ...)
    group_reason_text: str | None = None


def parse_pain002(data: bytes) -> StatusReport:
    """The status report in ``data``; ``BankFileInvalid`` (line, reason) refuses it whole."""
    reader: _Reader | None = None
    depth = 0
    try:
        for event, el in etree.iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=True,
            remove_comments=True,
            remove_pis=True,
        ):
            if event == "start":
                depth += 1
                if reader is None:
                    reader = _Reader(el)
                else:
                    reader.start(el, depth)
            else:
                assert reader is not None
                reader.end(el, depth)
                depth -= 1
    except etree.XMLSyntaxError as exc:
        refuse(
            exc.lineno or 1,
            NOT_XML,
            detail=str(exc.msg or exc),
        )
    if reader is None:  # pragma: no cover - lxml reports an empty document as a syntax error
        refuse(1, NOT_XML, detail="no element")
    return reader.finish()


class _Reader:
    def __init__(self, root: Any) -> None:
        if root.getroottree().docinfo.doctype:
            refuse(1, DTD)
        qname = etree.QName(root)
        if qname.localname != "Document" or not NAMESPACE_RE.fullmatch(qname.namespace or ""):
            refuse(root.sourceline or 1, _NOT_PAIN002, root=str(root.tag))
        self.ns = "{" + (qname.namespace or "") + "}"
        self.message_id: str | None = None
        self.original_message_id: str | None = None
        self.group_status: str | None = None
        self.group_reason: tuple[str | None, str | None] = (None, None)
        self.items: list[TxStatus] = []
        self.in_pmt = False
        self.pmt_status: str | None = None
        self.pmt_reason: tuple[str | None, str | None] = (None, None)
        self.pmt_items = 0
        self.lone_pmt: tuple[str, tuple[str | None, str | None]] | None = None

    def name(self, el: Any) -> str:
        tag = el.tag
        return tag[len(self.ns) :] if isinstance(tag, str) and tag.startswith(self.ns) else ""

    def find(self, el: Any, path: str) -> Any:
        return el.find("/".join(self.ns + part for part in path.split("/")))

    def start(self, el: Any, depth: int) -> None:
        if depth == 2 and self.name(el) != "CstmrPmtStsRpt":
            refuse(el.sourceline or 1, _NOT_PAIN002, root=str(el.tag))
        if depth == 3 and self.name(el) == "OrgnlPmtInfAndSts":
            self.in_pmt, self.pmt_status, self.pmt_items = True, None, 0
            self.pmt_reason = (None, None)

    def end(self, el: Any, depth: int) -> None:
        name, line = self.name(el), el.sourceline or 1
        if depth == 4 and self.in_pmt:
            if name == "PmtInfSts":
                self.pmt_status = self.status(el)
            elif name == "StsRsnInf":  # all of them so far: they come before the transactions
                self.pmt_reason = self.reason(el.getparent(), "StsRsnInf")
            elif name == "TxInfAndSts":
                self.item(el, line)
                free(el)
        elif depth == 3:
            if name == "GrpHdr":
                self.message_id = self.required(el, "MsgId", "GrpHdr/MsgId", line)
            elif name == "OrgnlGrpInfAndSts":
                self.original_message_id = self.required(
                    el, "OrgnlMsgId", "OrgnlGrpInfAndSts/OrgnlMsgId", line
                )
                found = self.find(el, "GrpSts")
                self.group_status = None if found is None else self.status(found)
                self.group_reason = self.reason(el, "StsRsnInf")
            elif name == "OrgnlPmtInfAndSts":
                self.in_pmt = False
                if self.pmt_items == 0 and self.pmt_status and self.lone_pmt is None:
                    self.lone_pmt = (self.pmt_status, self.pmt_reason)
            free(el)

    def required(self, el: Any, path: str, element: str, line: int) -> str:
        found = self.find(el, path)
        value = text_of(found)
        if value is None:
            refuse(line, MISSING, element=element)
        return value

    def status(self, el: Any) -> str:
        value = text_of(el) or ""
        if not _STATUS_RE.fullmatch(value):
            refuse(el.sourceline or 1, _BAD_STATUS, value=value)
        return value

    def reason(self, el: Any, tag: str) -> tuple[str | None, str | None]:
        """The first reason code of ``el``'s ``StsRsnInf``s and all their AddtlInf, joined."""
        code: str | None = None
        chunks: list[str] = []
        for info in el.iterfind(self.ns + tag):
            if code is None:
                code = text_of(self.find(info, "Rsn/Cd")) or text_of(self.find(info, "Rsn/Prtry"))
            chunks.extend("".join(a.itertext()) for a in info.iterfind(self.ns + "AddtlInf"))
        text = join_chunks(chunks, ADDTL_WIDTH).strip() if chunks else ""
        return code, text or None

    def item(self, el: Any, line: int) -> None:
        self.pmt_items += 1
        e2e = self.required(el, "OrgnlEndToEndId", "TxInfAndSts/OrgnlEndToEndId", line)
        found = self.find(el, "TxSts")
        reason = self.reason(el, "StsRsnInf")
        if found is not None:
            status = self.status(found)
        elif self.pmt_status is not None:
            status = self.pmt_status
            reason = reason if reason != (None, None) else self.pmt_reason
        elif self.group_status is not None:
            status = self.group_status
            reason = reason if reason != (None, None) else self.group_reason
        else:
            refuse(line, MISSING, element="TxInfAndSts/TxSts")
        self.items.append(TxStatus(e2e, status, reason[0], reason[1], line))

    def finish(self) -> StatusReport:
        if self.message_id is None:
            refuse(1, MISSING, element="CstmrPmtStsRpt/GrpHdr")
        if self.original_message_id is None:
            refuse(1, MISSING, element="CstmrPmtStsRpt/OrgnlGrpInfAndSts")
        group, reason = self.group_status, self.group_reason
        if group is None and self.lone_pmt is not None:
            group, reason = self.lone_pmt
        if group is None and not self.items:
            refuse(1, _NO_STATUS)
        return StatusReport(
            message_id=self.message_id,
            original_message_id=self.original_message_id,
            group_status=group,
            items=self.items,
            group_reason_code=reason[0],
            group_reason_text=reason[1],
        )


# -- writing -------------------------------------------------------------------------------------


def pain002(
    report: StatusReport,
    *,
    created_at: datetime,
    payment_info_id: str | None = None,
    original_message_name: str = "pain.001.001.09",
) -> bytes:
    """pain.002.001.10 for ``report``: ``OrgnlGrpInfAndSts`` (with the group status and reason,
    if any), and the items in one ``OrgnlPmtInfAndSts`` (``payment_info_id``, by default the
    original message id, as Qianbao's files have it). ``parse_pain002`` reads it back equal
    (but for ``line``). ``ValueError`` for what pain.002 cannot carry."""
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise ValueError("created_at must be time-zone aware")
    pmt_id = payment_info_id or report.original_message_id
    for value in (report.message_id, report.original_message_id, pmt_id):
        _check(_ID_RE, value, "an identifier of 1-35 visible ASCII characters")
    root = etree.Element(f"{{{NS_PAIN002}}}Document", nsmap={None: NS_PAIN002})
    doc = _sub(root, "CstmrPmtStsRpt")
    header = _sub(doc, "GrpHdr")
    _sub(header, "MsgId", report.message_id)
    _sub(header, "CreDtTm", created_at.isoformat(timespec="seconds"))
    group = _sub(doc, "OrgnlGrpInfAndSts")
    _sub(group, "OrgnlMsgId", report.original_message_id)
    _sub(group, "OrgnlMsgNmId", original_message_name)
    if report.group_status is not None:
        _sub(group, "GrpSts", _check(_STATUS_RE, report.group_status, "a status code"))
    _reason(group, report.group_reason_code, report.group_reason_text)
    if report.items:
        pmt = _sub(doc, "OrgnlPmtInfAndSts")
        _sub(pmt, "OrgnlPmtInfId", pmt_id)
        for item in report.items:
            tx = _sub(pmt, "TxInfAndSts")
            e2e = _check(_ID_RE, item.end_to_end_id, "an end-to-end id")
            _sub(tx, "OrgnlInstrId", e2e)
            _sub(tx, "OrgnlEndToEndId", e2e)
            _sub(tx, "TxSts", _check(_STATUS_RE, item.status, "a status code"))
            _reason(tx, item.reason_code, item.reason_text)
    elif report.group_status is None:
        raise ValueError("a status report needs a group status or items")
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8", pretty_print=True)


def _reason(parent: Any, code: str | None, text: str | None) -> None:
    if code is None and not text:
        return
    info = _sub(parent, "StsRsnInf")
    if code is not None:
        if not 1 <= len(code) <= 35 or code != code.strip():
            raise ValueError(f"{code!r} is not a reason code")
        _sub(_sub(info, "Rsn"), "Cd" if len(code) <= 4 else "Prtry", code)
    text = (text or "").strip()
    for start in range(0, len(text), ADDTL_WIDTH):
        _sub(info, "AddtlInf", text[start : start + ADDTL_WIDTH])


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


def _sub(parent: Any, tag: str, text: str | None = None) -> Any:
    el = etree.SubElement(parent, f"{{{NS_PAIN002}}}{tag}")
    el.text = text
    return el
