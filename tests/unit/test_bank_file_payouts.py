"""End-to-end ids of our payouts: what the bank echoes back in pain.002 and statements, so the
import can find the payout again (ISO 20022: 1-35 characters)."""

import uuid
from datetime import date

from qianbao.banking.rules import classify
from qianbao.rails.bank_file_payouts import end_to_end_id
from qianbao.rails.bankfiles.model import StatementEntry


def entry_like(*, direction: str, end_to_end_id: str) -> StatementEntry:
    return StatementEntry(
        line=1,
        bank_ref="B1",
        amount=100_00,
        direction=direction,  # type: ignore[arg-type]
        currency="CNY",
        booking_date=date(2026, 12, 1),
        value_date=None,
        remittance="Qianbao payout",
        end_to_end_id=end_to_end_id,
    )


def test_withdrawals_refunds_and_settlements_have_distinct_upper_case_ids():
    w = uuid.UUID("01a24bf2-0c43-7cac-a81c-65aad6549b96")
    assert end_to_end_id(str(w)) == "QB01A24BF20C437CACA81C65AAD6549B96"
    first, second = end_to_end_id(f"refund:{w}:1"), end_to_end_id(f"refund:{w}:2")
    assert first != second and len(first) == 35 and first.startswith("QB01A24BF2")
    settlement = end_to_end_id(f"S{w}")
    assert settlement == "QBS01A24BF20C437CACA81C65AAD6549B96" and len(settlement) == 35
    assert len({end_to_end_id(str(w)), first, second, settlement}) == 4


def test_a_statement_line_finds_the_payout_whatever_the_case_the_bank_used():
    e2e = end_to_end_id(f"S{uuid.uuid4()}")
    out = classify(entry_like(direction="debit", end_to_end_id=e2e.lower()))
    assert (out.action, out.end_to_end_id) == ("payout", e2e.lower())
    back = classify(entry_like(direction="credit", end_to_end_id=e2e))
    assert back.action == "return"
