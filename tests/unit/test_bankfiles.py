"""Bank statement files (camt.053, camt.054, MT940): the committed samples read back exactly, the
writers' XML validates against the ISO schemas, every writer round-trips, and every refusal names
its line. No database."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import xmlschema

from qianbao.kernel.i18n import Message
from qianbao.rails.bankfiles import (
    MAX_BYTES,
    BankFileInvalid,
    Statement,
    StatementEntry,
    camt053,
    camt054,
    check_size,
    detect,
    iter_camt053,
    parse_camt,
    parse_mt940,
    parse_statement_file,
    sha256_hex,
    write_mt940,
)

DATA = Path(__file__).resolve().parents[1] / "data"
XSD = DATA / "iso20022"
BANK = DATA / "bank"
CST = timezone(timedelta(hours=8))
DAY = date(2024, 5, 1)
ACCOUNT = "6222020000001234567"
ACCOUNT_NAME = "钱包支付科技有限公司"
BIC = "ICBKCNBJXXX"


def _e(n: int, amount: int, direction: str, remittance: str, **kw: object) -> StatementEntry:
    fields: dict[str, object] = {
        "line": 0,
        "bank_ref": f"ICBC2405010001{n:02d}",
        "amount": amount,
        "direction": direction,
        "currency": "CNY",
        "booking_date": DAY,
        "value_date": DAY,
        "remittance": remittance,
    }
    fields.update(kw)
    return StatementEntry(**fields)  # type: ignore[arg-type]


# The operator's receiving account at ICBC on 1 May 2024: four customer transfers carrying their
# reference code (one as typed, one after the memo, one mistyped, one in full-width characters
# with spaces), the bank's fee, the interest, and a payout to a user (our EndToEndId).
ENTRIES = [
    _e(1, 500_00, "credit", "钱包充值 QB3K7M9X2A",
       counterparty_name="张伟", counterparty_account="6217000010012345678",
       bank_tx_code="PMNT/RCDT/DMCT"),
    _e(2, 1_288_00, "credit", "充值QB7HW2R4NP 李娜",
       counterparty_name="李娜", counterparty_account="6228480012345678901",
       bank_tx_code="PMNT/RCDT/DMCT"),
    _e(3, 200_00, "credit", "充值 QB3K7M9X2B",
       counterparty_name="王芳", counterparty_account="6216610100012345678",
       bank_tx_code="PMNT/RCDT/DMCT"),
    _e(4, 3_000_00, "credit", "钱包 ＱＢ　５Ｘ２Ｊ ９Ｋ７Ｌ",
       counterparty_name="陈静", counterparty_account="6222600120001234567",
       bank_tx_code="PMNT/RCDT/DMCT"),
    _e(5, 15_00, "debit", "跨行转账手续费", bank_tx_code="PMNT/ICDT/CHRG"),
    _e(6, 12_34, "credit", "活期存款利息", bank_tx_code="ACMT/MCOP/INTR"),
    _e(7, 8_000_00, "debit", "钱包提现 QBPO240501000017",
       end_to_end_id="QBPO240501000017",
       counterparty_name="刘洋", counterparty_account="6217856100012345678",
       bank_tx_code="PMNT/ICDT/DMCT"),
]  # fmt: skip
OPENING = 125_000_00
CLOSING = OPENING + sum(e.amount if e.direction == "credit" else -e.amount for e in ENTRIES)
CREATED = datetime(2024, 5, 2, 6, 0, tzinfo=CST)

SAMPLE_053 = Statement(
    kind="camt.053",
    statement_id="ICBC-STMT-20240501-001",
    account=ACCOUNT,
    currency="CNY",
    created_at=CREATED,
    from_date=DAY,
    to_date=DAY,
    opening=OPENING,
    closing=CLOSING,
    entries=ENTRIES,
)
SAMPLE_054 = dataclasses.replace(
    SAMPLE_053,
    kind="camt.054",
    statement_id="ICBC-NTFC-20240501-017",
    created_at=datetime(2024, 5, 1, 18, 0, tzinfo=CST),
    opening=None,
    closing=None,
    entries=ENTRIES[:4],
)
_SWIFT_CODES = ["NTRF", "NTRF", "NTRF", "NTRF", "NCHG", "NINT", "NTRF"]
SAMPLE_940 = dataclasses.replace(
    SAMPLE_053,
    kind="mt940",
    statement_id="STMT240501/00121/001",
    created_at=None,
    entries=[
        dataclasses.replace(e, bank_tx_code=code)
        for e, code in zip(ENTRIES, _SWIFT_CODES, strict=True)
    ],
)


def sample_files() -> dict[str, bytes]:
    """The committed samples, as the writers produce them."""
    head = {"created_at": CREATED, "account_name": ACCOUNT_NAME, "bic": BIC}
    return {
        "sample.camt053.xml": camt053(SAMPLE_053, message_id="ICBC20240502060000001", **head),
        "sample.camt054.xml": camt054(SAMPLE_054, message_id="ICBC20240501180000017", **head),
        "sample.mt940": write_mt940(SAMPLE_940),
    }


def _with_lines(statement: Statement, data: bytes, marker: str) -> Statement:
    """``statement`` with each entry's line: the lines where ``marker`` starts, in order."""
    lines = [
        n
        for n, text in enumerate(data.decode().splitlines(), 1)
        if text.lstrip().startswith(marker)
    ]
    assert len(lines) == len(statement.entries)
    return dataclasses.replace(
        statement,
        entries=[
            dataclasses.replace(e, line=n) for e, n in zip(statement.entries, lines, strict=True)
        ],
    )


def _no_lines(statement: Statement) -> Statement:
    return dataclasses.replace(
        statement, entries=[dataclasses.replace(e, line=0) for e in statement.entries]
    )


# -- the samples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sample.camt053.xml", "sample.camt054.xml", "sample.mt940"])
def test_samples_are_the_writers_output(name):
    assert (BANK / name).read_bytes() == sample_files()[name]


@pytest.mark.parametrize(
    ("name", "expected", "marker"),
    [
        ("sample.camt053.xml", SAMPLE_053, "<Ntry>"),
        ("sample.camt054.xml", SAMPLE_054, "<Ntry>"),
        ("sample.mt940", SAMPLE_940, ":61:"),
    ],
)
def test_samples_parse_to_the_expected_statement(name, expected, marker):
    data = (BANK / name).read_bytes()
    [statement] = parse_statement_file(data, name)
    assert statement == _with_lines(expected, data, marker)


def test_sample_camt053_fields():
    [s] = parse_statement_file((BANK / "sample.camt053.xml").read_bytes())
    assert (s.kind, s.statement_id, s.account, s.currency) == (
        "camt.053",
        "ICBC-STMT-20240501-001",
        "6222020000001234567",
        "CNY",
    )
    assert s.created_at == datetime(2024, 5, 1, 22, 0, tzinfo=UTC)
    assert s.created_at is not None and s.created_at.utcoffset() == timedelta(hours=8)
    assert (s.from_date, s.to_date, s.opening, s.closing) == (DAY, DAY, 125_000_00, 121_985_34)
    first, *_, fee, interest, payout = s.entries
    assert first.line == 69
    assert (first.bank_ref, first.amount, first.direction, first.remittance) == (
        "ICBC240501000101",
        500_00,
        "credit",
        "钱包充值 QB3K7M9X2A",
    )
    assert (first.counterparty_name, first.counterparty_account, first.bank_tx_code) == (
        "张伟",
        "6217000010012345678",
        "PMNT/RCDT/DMCT",
    )
    assert s.entries[3].remittance == "钱包 ＱＢ　５Ｘ２Ｊ ９Ｋ７Ｌ"
    assert (fee.direction, fee.amount, fee.bank_tx_code, fee.counterparty_name) == (
        "debit",
        15_00,
        "PMNT/ICDT/CHRG",
        None,
    )
    assert (interest.direction, interest.amount, interest.remittance) == (
        "credit",
        12_34,
        "活期存款利息",
    )
    assert (payout.direction, payout.end_to_end_id, payout.counterparty_name) == (
        "debit",
        "QBPO240501000017",
        "刘洋",
    )


def test_sample_mt940_fields():
    [s] = parse_mt940(BANK / "sample.mt940")
    assert (s.statement_id, s.account, s.opening, s.closing) == (
        "STMT240501/00121/001",
        ACCOUNT,
        125_000_00,
        121_985_34,
    )
    assert [e.line for e in s.entries] == [5, 7, 9, 11, 13, 15, 17]
    assert [e.bank_tx_code for e in s.entries] == _SWIFT_CODES
    assert s.entries[0].counterparty_name == "张伟" and s.entries[0].end_to_end_id is None
    assert s.entries[6].end_to_end_id == "QBPO240501000017"


def test_parse_camt_takes_a_path():
    assert parse_camt(BANK / "sample.camt053.xml") == parse_statement_file(
        (BANK / "sample.camt053.xml").read_bytes()
    )


# -- the schemas ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schemas() -> dict[str, xmlschema.XMLSchema]:
    return {
        v: xmlschema.XMLSchema(str(XSD / f"{v}.xsd"))
        for v in ("camt.053.001.02", "camt.054.001.02", "camt.053.001.08", "camt.054.001.08")
    }


def test_writers_validate_against_the_iso_schemas(schemas):
    files = sample_files()
    schemas["camt.053.001.02"].validate(files["sample.camt053.xml"].decode())
    schemas["camt.054.001.02"].validate(files["sample.camt054.xml"].decode())
    odd = dataclasses.replace(SAMPLE_053, entries=ODD_ENTRIES, closing=None)
    written = camt053(odd, message_id="M", created_at=CREATED, account_name="Q", bic=None)
    schemas["camt.053.001.02"].validate(written.decode())


CAMT_08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>MSG-08-1</MsgId>
      <CreDtTm>2024-05-02T06:00:00</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>STMT-08-1</Id>
      <FrToDt>
        <FrDtTm>2024-05-01T00:00:00+08:00</FrDtTm>
        <ToDtTm>2024-05-01T23:59:59+08:00</ToDtTm>
      </FrToDt>
      <Acct>
        <Id><Othr><Id>6222020000001234567</Id></Othr></Id>
        <Ccy>CNY</Ccy>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="CNY">100.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2024-04-30</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="CNY">1151.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2024-05-01</Dt></Dt>
      </Bal>
      <TxsSummry>
        <TtlNtries><NbOfNtries>3</NbOfNtries><Sum>1125.50</Sum></TtlNtries>
      </TxsSummry>
      <Ntry>
        <NtryRef>N-1</NtryRef>
        <Amt Ccy="CNY">500.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2024-05-01T10:15:00+08:00</DtTm></BookgDt>
        <ValDt><Dt>2024-05-01</Dt></ValDt>
        <BkTxCd><Prtry><Cd>ICBC-TRF-IN</Cd></Prtry></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>TX-REF-1</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
            <RltdPties>
              <Dbtr><Pty><Nm>张伟</Nm></Pty></Dbtr>
              <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
              <Cdtr><Pty><Nm>钱包支付科技有限公司</Nm></Pty></Cdtr>
            </RltdPties>
            <RmtInf>
              <Ustrd>钱包充值</Ustrd>
              <Ustrd>QB3K7M9X2A</Ustrd>
              <Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd>
            </RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="CNY">74.50</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts><Cd>PDNG</Cd></Sts>
        <BkTxCd/>
      </Ntry>
      <Ntry>
        <Amt Ccy="CNY">551.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2024-05-01</Dt></BookgDt>
        <AcctSvcrRef>BATCH-7</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>BOOK</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Amt Ccy="CNY">300.00</Amt>
            <RltdPties><Dbtr><Pty><Nm>李娜</Nm></Pty></Dbtr></RltdPties>
            <RmtInf><Ustrd>QB7HW2R4NP</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <AmtDtls><TxAmt><Amt Ccy="CNY">251.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Pty><Nm>王芳</Nm></Pty></Dbtr></RltdPties>
          </TxDtls>
        </NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def test_camt053_v08_validates_and_parses(schemas):
    schemas["camt.053.001.08"].validate(CAMT_08)
    [s] = parse_statement_file(CAMT_08.encode())
    assert (s.kind, s.statement_id, s.account, s.currency) == (
        "camt.053",
        "STMT-08-1",
        ACCOUNT,
        "CNY",
    )
    # no Stmt/CreDtTm in .08: the group header's, naive, so China time
    assert s.created_at == datetime(2024, 5, 2, 6, 0, tzinfo=CST)
    assert (s.from_date, s.to_date, s.opening, s.closing) == (DAY, DAY, 100_00, 1151_00)
    first, part1, part2 = s.entries  # the pending entry is not on the account
    assert first == StatementEntry(
        line=_line_of(CAMT_08, "<Ntry>"),
        bank_ref="TX-REF-1",  # the entry has no AcctSvcrRef: its transaction's, before NtryRef
        amount=500_00,
        direction="credit",
        currency="CNY",
        booking_date=DAY,
        value_date=DAY,
        remittance="钱包充值 QB3K7M9X2A RF18539007547034",
        end_to_end_id=None,
        counterparty_name="张伟",
        counterparty_account="DE89370400440532013000",
        bank_tx_code="ICBC-TRF-IN",
    )
    assert (part1.bank_ref, part1.amount, part1.counterparty_name, part1.remittance) == (
        "BATCH-7/1",
        300_00,
        "李娜",
        "QB7HW2R4NP",
    )
    assert (part2.bank_ref, part2.amount, part2.counterparty_name, part2.line) == (
        "BATCH-7/2",
        251_00,
        "王芳",
        _line_of(CAMT_08, "<Ntry>", 2),  # a batch's entries all point at the Ntry
    )
    assert part1.bank_tx_code == "PMNT/RCDT/BOOK"


def test_camt054_v08_validates_and_parses(schemas):
    doc = CAMT_08.replace("camt.053.001.08", "camt.054.001.08")
    doc = doc.replace("BkToCstmrStmt>", "BkToCstmrDbtCdtNtfctn>").replace("Stmt>", "Ntfctn>")
    while "<Bal>" in doc:
        doc = _remove_block(doc, "<Bal>", "</Bal>")
    schemas["camt.054.001.08"].validate(doc)
    [s] = parse_camt(doc.encode())
    assert (s.kind, s.statement_id, s.opening, s.closing) == ("camt.054", "STMT-08-1", None, None)
    assert [e.bank_ref for e in s.entries] == ["TX-REF-1", "BATCH-7/1", "BATCH-7/2"]


def test_a_batch_without_amounts_per_transaction_is_one_entry():
    doc = CAMT_08.replace('<Amt Ccy="CNY">300.00</Amt>', "")
    [s] = parse_camt(doc.encode())
    assert [(e.bank_ref, e.amount, e.counterparty_name) for e in s.entries[1:]] == [
        ("BATCH-7", 551_00, "李娜")
    ]


def test_every_version_from_02_to_13_is_read_and_others_are_not():
    for n in range(2, 14):
        doc = CAMT_08.replace("camt.053.001.08", f"camt.053.001.{n:02d}")
        assert parse_camt(doc.encode())[0].statement_id == "STMT-08-1"
    for other in ("camt.053.001.01", "camt.053.001.14", "camt.052.001.08"):
        with pytest.raises(BankFileInvalid) as err:
            parse_camt(CAMT_08.replace("camt.053.001.08", other).encode())
        assert err.value.params["line"] == 2


# -- round trips ---------------------------------------------------------------------------------

ODD_ENTRIES = [
    _e(11, 1, "credit", "x" * 139 + " " + "y" * 141 + " z", counterparty_account="DE89370400440532013000"),
    _e(12, 99_99, "debit", "", reversal=True, counterparty_name="Returned Payee Co"),
    _e(13, 42_00, "credit", "", reversal=True, end_to_end_id="QBPO1", value_date=None),
    _e(14, 7_00, "debit", "line one\nline two", booking_date=date(2024, 5, 2), bank_tx_code="NMSC"),
    _e(15, 1_000_000_00, "credit", "大额", counterparty_name="某某某有限公司" * 6, value_date=date(2024, 4, 30)),
]  # fmt: skip


def test_camt_round_trips():
    for kind, write in (("camt.053", camt053), ("camt.054", camt054)):
        statement = dataclasses.replace(SAMPLE_053, kind=kind, entries=ENTRIES + ODD_ENTRIES)
        if kind == "camt.053":
            total = sum(e.amount if e.direction == "credit" else -e.amount for e in ODD_ENTRIES)
            statement = dataclasses.replace(statement, closing=CLOSING + total)
        else:
            statement = dataclasses.replace(statement, opening=None, closing=None)
        data = write(statement, message_id="M1", created_at=CREATED, account_name="Q", bic=BIC)
        [back] = parse_statement_file(data)
        assert _no_lines(back) == statement


def test_camt_round_trip_with_an_iban_and_no_dates():
    statement = dataclasses.replace(
        SAMPLE_053, account="DE89370400440532013000", from_date=None, to_date=None, opening=-5_00
    )
    statement = dataclasses.replace(statement, closing=CLOSING - OPENING - 5_00)
    data = camt053(statement, message_id="M", created_at=CREATED, account_name="Q", bic=None)
    assert _no_lines(parse_camt(data)[0]) == statement


def test_mt940_round_trips():
    entries = [
        dataclasses.replace(e, bank_tx_code=e.bank_tx_code if e.bank_tx_code == "NMSC" else "NTRF")
        for e in ODD_ENTRIES
        if e.value_date is not None
    ]
    entries[0] = dataclasses.replace(entries[0], remittance="x" * 139 + " " + "y" * 100)
    entries[-1] = dataclasses.replace(entries[-1], counterparty_name="某某某有限公司" * 3)
    total = sum(e.amount if e.direction == "credit" else -e.amount for e in entries)
    statement = dataclasses.replace(
        SAMPLE_940,
        entries=SAMPLE_940.entries + entries,
        closing=CLOSING + total,
        to_date=date(2024, 5, 2),
    )
    [back] = parse_mt940(write_mt940(statement))
    assert _no_lines(back) == statement


def test_mt940_writer_refuses_what_would_not_read_back():
    bad = [
        dataclasses.replace(ENTRIES[0], bank_tx_code="PMNT/RCDT/DMCT"),
        dataclasses.replace(ENTRIES[0], remittance="r" * 300),
        dataclasses.replace(ENTRIES[4], remittance="x" * 65 + ":61:oops"),
        dataclasses.replace(ENTRIES[0], counterparty_name="n" * 60),
        dataclasses.replace(ENTRIES[0], end_to_end_id="E" * 20),
    ]
    for entry in bad:
        with pytest.raises(ValueError):
            write_mt940(dataclasses.replace(SAMPLE_940, entries=[entry], closing=None))


# -- MT940 as banks send it ----------------------------------------------------------------------

MT940_WRAPPED = """{1:F01ICBKCNBJAXXX0000000000}{2:O9401200240502ICBKCNBJAXXX00000000002405021200N}{4:
:20:STMT240501
:25:6222020000001234567
:28C:00121/001
:60M:C240501CNY1000,
:61:2405010501C250,5NTRFNONREF//B1
:86:166?00GUTSCHRIFT?20QB3K7M9X2A ?21钱包?30ICBKCNBJ?316217000010012345678?32
ZHANG WEI?33 JR
:61:2405010501RD10,NTRFNONREF//B2
:86:plain memo continued over
two lines
:61:2405020501RC5,NMSCMYREF//B3
:61:2405010501D0,1NCHGMYREF
:62M:C240501CNY1255,4
-}{5:{CHK:123456789ABC}}
{1:F01ICBKCNBJAXXX0000000000}{2:O9401200240502ICBKCNBJAXXX00000000002405021200N}{4:
:20:STMT240501
:25:6222020000001234567
:28C:00121/002
:60M:C240501CNY1255,4
:62F:C240501CNY1255,4
:86:statement-level information is not an entry's
-}
"""


def test_mt940_several_wrapped_statements_reversals_and_structured_86():
    first, second = parse_statement_file(MT940_WRAPPED.replace("\n", "\r\n").encode("utf-8"))
    assert (first.statement_id, first.opening, first.closing) == (
        "STMT240501/00121/001",
        1000_00,
        1255_40,
    )
    a, b, c, d = first.entries
    assert (a.line, a.amount, a.direction, a.reversal, a.bank_ref) == (
        6,
        250_50,
        "credit",
        False,
        "B1",
    )
    assert (a.remittance, a.counterparty_name, a.counterparty_account) == (
        "QB3K7M9X2A 钱包",
        "ZHANG WEI JR",
        "6217000010012345678",
    )
    assert (b.direction, b.reversal, b.remittance) == (
        "credit",
        True,
        "plain memo continued over\ntwo lines",
    )
    assert (c.direction, c.reversal, c.bank_tx_code, c.end_to_end_id, c.remittance) == (
        "debit",
        True,
        "NMSC",
        "MYREF",
        "",
    )
    assert (c.value_date, c.booking_date) == (date(2024, 5, 2), date(2024, 5, 1))
    assert (d.bank_ref, d.end_to_end_id, d.amount) == ("MYREF", None, 10)
    assert (second.statement_id, second.entries) == ("STMT240501/00121/002", [])


def test_mt940_entry_date_across_new_year():
    text = (
        ":20:Y\n:25:A\n:28C:1/1\n:60F:C231231CNY0,\n"
        ":61:2312310102C1,NTRFNONREF//B1\n:61:2401021231C1,NTRFNONREF//B2\n:62F:C240102CNY2,\n"
    )
    a, b = parse_mt940(text.encode()).pop().entries
    assert (a.value_date, a.booking_date) == (date(2023, 12, 31), date(2024, 1, 2))
    assert (b.value_date, b.booking_date) == (date(2024, 1, 2), date(2023, 12, 31))


def test_mt940_in_gb18030():
    data = (BANK / "sample.mt940").read_bytes().decode().encode("gb18030")
    [s] = parse_mt940(data)
    assert s.entries[0].counterparty_name == "张伟"


# -- refusals ------------------------------------------------------------------------------------


def _refused(data: bytes) -> dict[str, object]:
    with pytest.raises(BankFileInvalid) as err:
        parse_statement_file(data)
    params = err.value.params
    assert isinstance(params["reason"], Message)
    params["reason"].format(**params)  # every placeholder is filled
    return params


def _line_of(text: str, needle: str, nth: int = 0) -> int:
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


CAMT = sample_files()["sample.camt053.xml"].decode()  # the committed sample (tested above)
_FIRST_AMT = '<Amt Ccy="CNY">500.00</Amt>'
_FIRST_REF = "<AcctSvcrRef>ICBC240501000101</AcctSvcrRef>"
_CLBD_AMT = f'<Amt Ccy="CNY">{CLOSING // 100}.{CLOSING % 100:02d}</Amt>'


def _remove_block(text: str, start: str, end: str) -> str:
    a = text.index(start)
    b = text.index(end, a) + len(end)
    return text[:a] + text[b:]


CAMT_REFUSALS = [
    # (what, mutated document, the line to blame (a needle in the mutated text or a number))
    ("truncated", CAMT[: CAMT.index("<Ntry>", 3000)], None),
    ("pain.001", CAMT.replace("camt.053.001.02", "pain.001.001.03"), 2),
    ("no namespace", CAMT.replace(' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"', ""), 2),
    ("wrong wrapper", CAMT.replace("BkToCstmrStmt>", "BkToCstmrDbtCdtNtfctn>"), 3),
    ("no Stmt/Id", CAMT.replace("<Id>ICBC-STMT-20240501-001</Id>", ""), "<Stmt>"),
    ("no Acct", _remove_block(CAMT, "<Acct>", "</Acct>"), "<Stmt>"),
    ("no amount", CAMT.replace(_FIRST_AMT, "", 1), "<Ntry>"),
    ("no CdtDbtInd", CAMT.replace("<Sts>BOOK</Sts>", "", 1).replace(
        "<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>", "<Sts>", 1), "<Ntry>"),
    ("bad CdtDbtInd", CAMT.replace(f"{_FIRST_AMT}\n        <CdtDbtInd>CRDT", f"{_FIRST_AMT}\n        <CdtDbtInd>CRED", 1), "<CdtDbtInd>CRED"),
    ("no booking date", _remove_block(CAMT, "<BookgDt>", "</BookgDt>"), "<Ntry>"),
    ("no reference", CAMT.replace(_FIRST_REF, ""), "<Ntry>"),
    ("decimal comma", CAMT.replace(_FIRST_AMT, '<Amt Ccy="CNY">500,00</Amt>'), "500,00"),
    ("zero", CAMT.replace(_FIRST_AMT, '<Amt Ccy="CNY">0.00</Amt>'), '>0.00<'),
    ("negative", CAMT.replace(_FIRST_AMT, '<Amt Ccy="CNY">-500.00</Amt>'), "-500.00"),
    ("three decimals", CAMT.replace(_FIRST_AMT, '<Amt Ccy="CNY">500.001</Amt>'), "500.001"),
    ("Arabic-Indic digits", CAMT.replace(_FIRST_AMT, '<Amt Ccy="CNY">٥00.00</Amt>'), "٥00.00"),
    ("entry in USD", CAMT.replace(_FIRST_AMT, '<Amt Ccy="USD">500.00</Amt>'), '"USD"'),
    ("unsupported currency", CAMT.replace("CNY", "GBP"), "<Ccy>GBP"),
    ("bad date", CAMT.replace("<Dt>2024-05-01</Dt>\n        </BookgDt>", "<Dt>2024-05-32</Dt>\n        </BookgDt>", 1), "2024-05-32"),
    ("date in basic format", CAMT.replace("<Dt>2024-05-01</Dt>\n        </BookgDt>", "<Dt>20240501</Dt>\n        </BookgDt>", 1), "<Dt>20240501"),
    ("bad CreDtTm", CAMT.replace("<CreDtTm>2024-05-02T06:00:00+08:00</CreDtTm>\n      <FrToDt>", "<CreDtTm>yesterday</CreDtTm>\n      <FrToDt>"), "yesterday"),
    ("no OPBD", CAMT.replace("<Cd>OPBD</Cd>", "<Cd>ITBD</Cd>"), "<Stmt>"),
    ("no CLBD", CAMT.replace("<Cd>CLBD</Cd>", "<Cd>ITBD</Cd>"), "<Stmt>"),
    ("control sum", CAMT.replace(_CLBD_AMT, '<Amt Ccy="CNY">121985.35</Amt>'), ("<Bal>", 1)),
    ("summary count", CAMT.replace("<NbOfNtries>7</NbOfNtries>", "<NbOfNtries>8</NbOfNtries>"), "<NbOfNtries>8"),
    ("summary sum", CAMT.replace("<Sum>13015.34</Sum>", "<Sum>13015.43</Sum>"), "<Sum>13015.43"),
    ("no statement", _remove_block(CAMT, "<Stmt>", "</Stmt>"), "<BkToCstmrStmt>"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "doc", "blame"), CAMT_REFUSALS, ids=[c[0] for c in CAMT_REFUSALS])
def test_camt_refusals_name_the_line(what, doc, blame):
    assert doc != CAMT
    params = _refused(doc.encode("utf-8"))
    if blame is None:
        assert isinstance(params["line"], int) and params["line"] >= 1
        return
    if isinstance(blame, int):
        expected = blame
    elif isinstance(blame, tuple):
        expected = _line_of(doc, *blame)
    else:
        expected = _line_of(doc, blame)
    assert params["line"] == expected, params


def test_the_control_sum_reason_gives_both_figures():
    params = _refused(CAMT.replace(_CLBD_AMT, '<Amt Ccy="CNY">121985.35</Amt>').encode())
    assert (params["computed"], params["closing"]) == ("121985.34", "121985.35")
    assert "121985.34" in params["reason"].format(**params)


def test_summary_and_control_sum_may_count_pending_entries():
    pending = CAMT.replace("<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>", 1)
    pending = pending.replace(_CLBD_AMT, f'<Amt Ccy="CNY">{(CLOSING - 500_00) / 100:.2f}</Amt>')
    [s] = parse_camt(pending.encode())
    assert len(s.entries) == 6 and s.closing == CLOSING - 500_00


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr>
<MsgId>&xxe;</MsgId></GrpHdr></BkToCstmrStmt></Document>"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol9;</Document>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>"""


@pytest.mark.parametrize("doc", [XXE, BOMB, EXTERNAL_DTD], ids=["xxe", "bomb", "external-dtd"])
def test_a_dtd_is_refused_and_never_expanded(doc):
    params = _refused(doc)
    assert params["line"] == 1
    assert "root:" not in repr(params)


MT = sample_files()["sample.mt940"].decode()
_FIRST_61 = ":61:2405010501C500,00NTRFNONREF//ICBC240501000101"
MT_REFUSALS = [
    ("bad :61:", MT.replace(_FIRST_61, ":61:2405010501X500,00NTRF"), ":61:2405010501X"),
    ("amount with a point", MT.replace("C500,00NTRF", "C500.00NTRF"), ":61:2405010501C500.00"),
    ("zero amount", MT.replace("C500,00NTRF", "C0,00NTRF"), ":61:2405010501C0,00"),
    ("bad value date", MT.replace(":61:2405010501C500", ":61:2413010501C500"), ":61:2413"),
    ("bad entry date", MT.replace(":61:2405010501C500", ":61:2405011301C500"), ":61:24050113"),
    ("no reference", MT.replace("NONREF//ICBC240501000101", "NONREF"), _FIRST_61[:30]),
    ("reference too long", MT.replace("//ICBC240501000101", "//ICBC240501000101XXXXXXXXXXXXXXXXX"), _FIRST_61[:30]),
    ("bad opening", MT.replace(":60F:C240501CNY", ":60F:X240501CNY"), ":60F:"),
    ("bad opening date", MT.replace(":60F:C240501CNY", ":60F:C240231CNY"), ":60F:"),
    ("opening with a thousands point", MT.replace(":60F:C240501CNY125000,00", ":60F:C240501CNY125.000,00"), ":60F:"),
    ("currency changes", MT.replace(":62F:C240501CNY", ":62F:C240501USD"), ":62F:"),
    ("unsupported currency", MT.replace("CNY", "XXX"), ":60F:"),
    ("control sum", MT.replace(":62F:C240501CNY121985,34", ":62F:C240501CNY121985,43"), ":62F:"),
    ("no opening", MT.replace(":60F:", ":60X:"), ":20:"),
    ("no closing", MT.replace(":62F:", ":62X:"), ":20:"),
    ("no account", MT.replace(":25:6222020000001234567", ":25:"), ":20:"),
    ("two openings", MT.replace(":28C:", ":60M:C240501CNY1,\r\n:28C:"), ":60F:"),
    (":61: after the closing", MT.replace("-\r\n", ":61:2405010501C1,NTRFNONREF//X\r\n-\r\n"), ":61:2405010501C1,"),
    (":61: before :20:", ":61:2405010501C1,NTRFNONREF//X\r\n" + MT, 1),
]  # fmt: skip


@pytest.mark.parametrize(("what", "text", "blame"), MT_REFUSALS, ids=[c[0] for c in MT_REFUSALS])
def test_mt940_refusals_name_the_line(what, text, blame):
    assert text != MT
    params = _refused(text.encode("utf-8"))
    expected = blame if isinstance(blame, int) else _line_of(text, blame)
    assert params["line"] == expected, params


def test_undecodable_mt940_is_refused():
    params = _refused(b":20:X\r\n:25:A\r\n:86:\xff\xfe\xfd\xfc\r\n")
    assert params["line"] == 3


@pytest.mark.parametrize(
    "data",
    [b"", b" \r\n\t", b"date,amount\n2024-05-01,12.00\n", b"\x89PNG\r\n", b"%PDF-1.7 :20:"],
)
def test_anything_else_is_refused_at_line_1(data):
    assert _refused(data)["line"] == 1


def test_the_size_limit(monkeypatch):
    assert MAX_BYTES == 200 * 1024 * 1024
    check_size(MAX_BYTES)
    with pytest.raises(BankFileInvalid):
        check_size(MAX_BYTES + 1)
    monkeypatch.setattr(detect, "MAX_BYTES", 100)
    assert _refused((BANK / "sample.mt940").read_bytes())["max_mb"] == 0


def test_mutated_files_are_read_or_refused_and_nothing_else():
    """Random damage never escapes as another exception."""
    rng = random.Random(20240501)
    originals = [(BANK / n).read_bytes() for n in ("sample.camt053.xml", "sample.mt940")]
    alphabet = b"<>/:-,.0123456789CDNTRF?{}&;\r\n \xe4\xb8"
    refused: list[dict[str, object]] = []
    for _ in range(1000):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[at] = rng.choice(alphabet)
            elif op < 0.7:
                del data[at : at + rng.randint(1, 20)]
            else:
                data[at:at] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
        try:
            parse_statement_file(bytes(data))
        except BankFileInvalid as exc:
            refused.append(exc.params)
    assert refused and all(isinstance(p["line"], int) and p["line"] >= 1 for p in refused)


# -- size ----------------------------------------------------------------------------------------


def test_a_20000_entry_statement_streams_and_parses():
    n = 20_000

    def entries():
        for i in range(n):
            yield _e(
                i,
                1_00 + i,
                "credit" if i % 3 else "debit",
                f"充值 QB{i:08d}",
                bank_ref=f"B{i:09d}",
                counterparty_name="张伟",
                counterparty_account="6217000010012345678",
                bank_tx_code="PMNT/RCDT/DMCT",
            )

    header = dataclasses.replace(SAMPLE_053, entries=[], closing=None)
    chunks = list(
        iter_camt053(
            header, entries, message_id="BIG", created_at=CREATED, account_name="Q", bic=BIC
        )
    )
    assert len(chunks) > 20
    [s] = parse_statement_file(b"".join(chunks))
    expected = OPENING + sum((1_00 + i) * (1 if i % 3 else -1) for i in range(n))
    assert (len(s.entries), s.closing) == (n, expected)
    assert (
        s.entries[-1].bank_ref == f"B{n - 1:09d}"
        and s.entries[-1].remittance == f"充值 QB{n - 1:08d}"
    )


def test_sha256_hex():
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
