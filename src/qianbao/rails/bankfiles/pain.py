"""Payout files: ISO 20022 pain.001.001.09 credit transfers to the operator's bank
(``_pain001.py``: writing, and validating against the ISO XSD shipped in ``xsd/``) and the
bank's pain.002 status reports (``_pain002.py``: reading .001.03 to .001.12, writing .001.10)."""

from qianbao.rails.bankfiles._pain001 import (
    NS_PAIN001,
    PayoutFile,
    PayoutFileInvalid,
    PayoutLine,
    pain001,
    validate_pain001,
)
from qianbao.rails.bankfiles._pain002 import (
    NS_PAIN002,
    StatusReport,
    TxStatus,
    pain002,
    parse_pain002,
)

__all__ = [
    "NS_PAIN001",
    "NS_PAIN002",
    "PayoutFile",
    "PayoutFileInvalid",
    "PayoutLine",
    "StatusReport",
    "TxStatus",
    "pain001",
    "pain002",
    "parse_pain002",
    "validate_pain001",
]
