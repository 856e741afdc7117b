"""Bank statement files: camt.053, camt.054 and MT940 parsed into one model (``model.py``), and
writers for demo data, tests and benchmarks. A file is accepted whole or refused whole
(``BankFileInvalid`` says the line and the reason)."""

from qianbao.rails.bankfiles.camt import parse_camt
from qianbao.rails.bankfiles.detect import MAX_BYTES, check_size, parse_statement_file, sha256_hex
from qianbao.rails.bankfiles.model import (
    BankFileInvalid,
    Direction,
    FileKind,
    Statement,
    StatementEntry,
)
from qianbao.rails.bankfiles.mt940 import parse_mt940
from qianbao.rails.bankfiles.write import camt053, camt054, iter_camt053
from qianbao.rails.bankfiles.write import mt940 as write_mt940

__all__ = [
    "MAX_BYTES",
    "BankFileInvalid",
    "Direction",
    "FileKind",
    "Statement",
    "StatementEntry",
    "camt053",
    "camt054",
    "check_size",
    "iter_camt053",
    "parse_camt",
    "parse_mt940",
    "parse_statement_file",
    "sha256_hex",
    "write_mt940",
]
