"""ISO 20022 pain.001.001.09 (customer credit transfer initiation): the payout file the operator
hands to the bank, and its check against the official XSD shipped beside this module.

One file is one debtor account in one currency: one ``PmtInf`` holding every payout. Amounts are
written from integer minor units with the currency's exponent (``Money``), so the control sums
are exact. The ISO schema (not the EPC SEPA variant) allows any Unicode text in names, so
Chinese names are kept; names and remittance are cleaned (characters XML cannot carry, runs of
white space) and cut to the schema's lengths. Identifiers and account numbers are never cut:
one that does not fit refuses the file (``PayoutFileInvalid``), as does anything else the
schema or the control sums would refuse.

Charge bearer: ``SLEV`` (the scheme's rule: each side pays its own bank) only for a SEPA-like
file, in EUR with the debtor's and every creditor's account an IBAN; otherwise ``DEBT``: the
operator pays the charges, so the user receives the whole amount withdrawn."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import CURRENCIES, Money

NS_PAIN001 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
XSD_PATH = Path(__file__).resolve().parent / "xsd" / "pain.001.001.09.xsd"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
NAME_MAX = 140  # Max140Text: Nm of parties and agents, Ustrd

INVALID_FIELD = N_("the file has an invalid {field}")
INVALID_PAYMENT_FIELD = N_("the payment {end_to_end_id} has an invalid {field}")
DUPLICATE_E2E = N_("the end-to-end id {end_to_end_id} appears more than once")
NOT_XML = N_("the file is not well-formed XML: {detail}")  # the camt parser's msgid
MIXED_CURRENCY = N_("the amount {value} is in {currency}, the debtor account in {expected}")
TOO_PRECISE = N_("the amount {value} has more decimal places than {currency} allows")  # _common's
SCHEMA = N_("the schema refuses {path}: {detail}")
DTD = N_("the file declares a DTD or entities, which a payment file never does")

_ID_RE = re.compile(r"[!-~](?:[ -~]{0,33}[!-~])?")  # Max35Text, visible ASCII, no edge spaces
_ACCOUNT_RE = re.compile(r"[!-~]{1,34}")  # Max34Text, visible ASCII
_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_BIC_RE = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_CCY_RE = re.compile(r"[A-Z]{3}")  # ActiveOrHistoricCurrencyCode: USDT cannot be paid here
# Characters XML 1.0 cannot carry at all (controls, surrogates, U+FFFE, U+FFFF).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")


class PayoutFileInvalid(DomainError):
    """The payout file cannot be written or does not pass the XSD and control-sum checks."""

    code = "bank.payout_file_invalid"
    kind = ErrorKind.INVALID
    message = N_("The payout file does not validate: {reason}. It was not released.")


@dataclass(frozen=True, slots=True)
class PayoutLine:
    end_to_end_id: str  # ours, 1-35 visible ASCII characters; comes back in pain.002 and camt
    amount: int  # minor units, > 0
    currency: str
    creditor_name: str
    creditor_account: str  # IBAN, or the bank's account number (Othr/Id)
    creditor_account_is_iban: bool
    creditor_bank_name: str | None
    creditor_bank_bic: str | None
    remittance: str  # one Ustrd, cut to 140 characters; empty: no RmtInf


@dataclass(frozen=True, slots=True)
class PayoutFile:
    message_id: str  # GrpHdr/MsgId, 1-35 visible ASCII characters
    created_at: datetime  # time-zone aware
    debtor_name: str
    debtor_account: str
    debtor_account_is_iban: bool
    debtor_bic: str | None
    debtor_bank_name: str | None
    currency: str
    execution_date: date
    payment_info_id: str  # PmtInf/PmtInfId, 1-35 visible ASCII characters
    lines: list[PayoutLine]


# -- writing -------------------------------------------------------------------------------------


def pain001(file: PayoutFile) -> bytes:
    """The pain.001.001.09 document (UTF-8) for ``file``; ``PayoutFileInvalid`` when a field
    cannot be carried. Call ``validate_pain001`` on the result before releasing it."""
    if file.created_at.tzinfo is None or file.created_at.utcoffset() is None:
        raise ValueError("created_at must be time-zone aware")
    cur = _currency(file.currency, "PmtInf/DbtrAcct/Ccy")
    if not file.lines:
        raise PayoutFileInvalid(reason=INVALID_FIELD, field="PmtInf/CdtTrfTxInf")
    msg_id = _ident(file.message_id, "GrpHdr/MsgId")
    pmt_inf_id = _ident(file.payment_info_id, "PmtInf/PmtInfId")
    debtor = _name(file.debtor_name, "Dbtr/Nm")
    seen: set[str] = set()
    for line in file.lines:
        if line.end_to_end_id in seen:
            raise PayoutFileInvalid(reason=DUPLICATE_E2E, end_to_end_id=line.end_to_end_id)
        seen.add(line.end_to_end_id)
    total = sum(_checked_amount(line, cur) for line in file.lines)
    control_sum = Money(total, cur).to_decimal_string()
    count = str(len(file.lines))
    sepa = (
        cur == "EUR"
        and file.debtor_account_is_iban
        and all(line.creditor_account_is_iban for line in file.lines)
    )

    root = etree.Element(f"{{{NS_PAIN001}}}Document", nsmap={None: NS_PAIN001})
    doc = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(doc, "GrpHdr")
    _sub(header, "MsgId", msg_id)
    _sub(header, "CreDtTm", file.created_at.isoformat(timespec="seconds"))
    _sub(header, "NbOfTxs", count)
    _sub(header, "CtrlSum", control_sum)
    _sub(_sub(header, "InitgPty"), "Nm", debtor)

    info = _sub(doc, "PmtInf")
    _sub(info, "PmtInfId", pmt_inf_id)
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "NbOfTxs", count)
    _sub(info, "CtrlSum", control_sum)
    _sub(_sub(info, "ReqdExctnDt"), "Dt", file.execution_date.isoformat())
    _sub(_sub(info, "Dbtr"), "Nm", debtor)
    account = _sub(info, "DbtrAcct")
    _account_id(account, file.debtor_account, file.debtor_account_is_iban, "DbtrAcct/Id", None)
    _sub(account, "Ccy", cur)
    agent = _sub(_sub(info, "DbtrAgt"), "FinInstnId")
    bic = _bic(file.debtor_bic, "DbtrAgt/FinInstnId/BICFI", None)
    bank = _clean(file.debtor_bank_name or "", NAME_MAX)
    if bic:
        _sub(agent, "BICFI", bic)
    if bank:
        _sub(agent, "Nm", bank)
    if not bic and not bank:
        _sub(_sub(agent, "Othr"), "Id", "NOTPROVIDED")
    _sub(info, "ChrgBr", "SLEV" if sepa else "DEBT")
    for line in file.lines:
        _transaction(info, line, cur)
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8", pretty_print=True)


def _transaction(info: Any, line: PayoutLine, cur: str) -> None:
    e2e = line.end_to_end_id
    tx = _sub(info, "CdtTrfTxInf")
    ids = _sub(tx, "PmtId")
    _sub(ids, "InstrId", e2e)
    _sub(ids, "EndToEndId", e2e)
    _sub(_sub(tx, "Amt"), "InstdAmt", Money(line.amount, cur).to_decimal_string(), Ccy=cur)
    bic = _bic(line.creditor_bank_bic, "CdtrAgt/FinInstnId/BICFI", e2e)
    bank = _clean(line.creditor_bank_name or "", NAME_MAX)
    if bic or bank:
        agent = _sub(_sub(tx, "CdtrAgt"), "FinInstnId")
        if bic:
            _sub(agent, "BICFI", bic)
        if bank:
            _sub(agent, "Nm", bank)
    _sub(_sub(tx, "Cdtr"), "Nm", _name(line.creditor_name, "Cdtr/Nm", e2e))
    _account_id(
        _sub(tx, "CdtrAcct"), line.creditor_account, line.creditor_account_is_iban, "CdtrAcct", e2e
    )
    remittance = _clean(line.remittance, NAME_MAX)
    if remittance:
        _sub(_sub(tx, "RmtInf"), "Ustrd", remittance)


def _sub(parent: Any, tag: str, text: str | None = None, **attrib: str) -> Any:
    el = etree.SubElement(parent, f"{{{NS_PAIN001}}}{tag}", attrib)
    el.text = text
    return el


def _refuse(field: str, e2e: str | None) -> PayoutFileInvalid:
    if e2e is None:
        return PayoutFileInvalid(reason=INVALID_FIELD, field=field)
    return PayoutFileInvalid(reason=INVALID_PAYMENT_FIELD, field=field, end_to_end_id=e2e)


def _clean(text: str, limit: int) -> str:
    """Text as the schema takes it: NFC, no characters XML cannot carry, white space runs as one
    space, trimmed, and cut to ``limit`` characters."""
    text = _NOT_XML_CHAR.sub(" ", unicodedata.normalize("NFC", text))
    return _SPACES.sub(" ", text).strip()[:limit].rstrip()


def _name(text: str, field: str, e2e: str | None = None) -> str:
    cleaned = _clean(text, NAME_MAX)
    if not cleaned:
        raise _refuse(field, e2e)
    return cleaned


def _ident(value: str, field: str, e2e: str | None = None) -> str:
    if not _ID_RE.fullmatch(value):
        raise _refuse(field, e2e)
    return value


def _currency(code: str, field: str, e2e: str | None = None) -> str:
    if code not in CURRENCIES or not _CCY_RE.fullmatch(code):
        raise _refuse(field, e2e)
    return code


def _checked_amount(line: PayoutLine, cur: str) -> int:
    e2e = _ident(line.end_to_end_id, "PmtId/EndToEndId", line.end_to_end_id)
    if line.currency != cur:
        raise _refuse("InstdAmt/@Ccy", e2e)
    if type(line.amount) is not int or line.amount <= 0:
        raise _refuse("InstdAmt", e2e)
    return line.amount


def _bic(value: str | None, field: str, e2e: str | None) -> str | None:
    if not value or not value.strip():
        return None
    bic = value.strip().upper()
    if not _BIC_RE.fullmatch(bic):
        raise _refuse(field, e2e)
    return bic


def _account_id(parent: Any, account: str, is_iban: bool, field: str, e2e: str | None) -> None:
    """``Id/IBAN`` (checked: pattern and ISO 7064 MOD 97-10) or ``Id/Othr/Id``; white space is
    dropped (account numbers are often written in groups), nothing is ever cut."""
    compact = "".join(account.split())
    ident = _sub(parent, "Id")
    if is_iban:
        iban = compact.upper()
        if not _IBAN_RE.fullmatch(iban) or not _iban_checksum_ok(iban):
            raise _refuse(f"{field}/Id/IBAN", e2e)
        _sub(ident, "IBAN", iban)
    else:
        if not _ACCOUNT_RE.fullmatch(compact):
            raise _refuse(f"{field}/Id/Othr/Id", e2e)
        _sub(_sub(ident, "Othr"), "Id", compact)


def _iban_checksum_ok(iban: str) -> bool:
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


# -- validating ----------------------------------------------------------------------------------


@cache
def _schema() -> xmlschema.XMLSchema10:
    """The XSD compiled by xmlschema (slow to build: once per process), which names the first
    error of a refused file by its path."""
    return xmlschema.XMLSchema10(str(XSD_PATH))


_local = threading.local()


def _fast_schema() -> Any:
    """The XSD compiled by libxml2 (quick to build; one per thread, as lxml's validators keep
    their error log): it decides, some hundred times faster than xmlschema on a large file."""
    schema = getattr(_local, "schema", None)
    if schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        schema = _local.schema = etree.XMLSchema(etree.parse(str(XSD_PATH), parser))
    return schema


def validate_pain001(data: bytes) -> None:
    """``data`` is a pain.001.001.09 document the bank will take: it validates against the ISO
    XSD, and its counts and control sums (which the XSD cannot check) agree with its amounts.
    ``PayoutFileInvalid`` (reason: the first problem) otherwise."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise PayoutFileInvalid(reason=NOT_XML, detail=str(exc.msg or exc)) from None
    if root.getroottree().docinfo.doctype:
        raise PayoutFileInvalid(reason=DTD)
    fast = _fast_schema()
    if not fast.validate(root):
        for error in _schema().iter_errors(root):
            raise PayoutFileInvalid(
                reason=SCHEMA, path=error.path or "/", detail=error.reason or error.message
            )
        first = fast.error_log[0]  # xmlschema found nothing: libxml2's own words
        raise PayoutFileInvalid(reason=SCHEMA, path=first.path or "/", detail=first.message)
    _check_sums(root)


def _check_sums(root: Any) -> None:
    ns = {"p": NS_PAIN001}
    counts: Counter[str] = Counter()
    all_amounts: list[Decimal] = []
    for info in root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf", ns):
        ccy = info.findtext("p:DbtrAcct/p:Ccy", None, ns)
        amounts = []
        for amt in info.iterfind("p:CdtTrfTxInf/p:Amt/p:InstdAmt", ns):
            value, currency = (amt.text or "").strip(), amt.get("Ccy")
            if ccy is not None and currency != ccy:
                raise PayoutFileInvalid(
                    reason=MIXED_CURRENCY,
                    value=value,
                    currency=currency,
                    expected=ccy,
                )
            places = len(value.partition(".")[2].rstrip("0"))
            if currency in CURRENCIES and places > CURRENCIES[currency].exponent:
                raise PayoutFileInvalid(
                    reason=TOO_PRECISE,
                    value=value,
                    currency=currency,
                )
            amounts.append(Decimal(value))
        _agree(info, "PmtInf", amounts, ns)
        all_amounts.extend(amounts)
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", ns)
    _agree(header, "GrpHdr", all_amounts, ns)
    for e2e in root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf/p:PmtId/p:EndToEndId", ns):
        counts[(e2e.text or "").strip()] += 1
    for e2e, n in counts.items():
        if n > 1:
            raise PayoutFileInvalid(reason=DUPLICATE_E2E, end_to_end_id=e2e)


def _agree(el: Any, where: str, amounts: list[Decimal], ns: dict[str, str]) -> None:
    stated = (el.findtext("p:NbOfTxs", None, ns) or "").strip()
    if stated and int(stated) != len(amounts):
        raise PayoutFileInvalid(
            reason=N_("{element} says {stated} transactions, the file has {counted}"),
            element=f"{where}/NbOfTxs",
            stated=stated,
            counted=len(amounts),
        )
    control = (el.findtext("p:CtrlSum", None, ns) or "").strip()
    if control and Decimal(control) != sum(amounts, Decimal(0)):
        raise PayoutFileInvalid(
            reason=N_("{element} says {stated}, the amounts add up to {computed}"),
            element=f"{where}/CtrlSum",
            stated=control,
            computed=str(sum(amounts, Decimal(0))),
        )
