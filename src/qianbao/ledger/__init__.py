"""The ledger: exact, append-only double-entry bookkeeping with holds, idempotency and group
commit. It imports only ``qianbao.kernel``; it knows no wallet, merchant or user.

Public surface:
- commands: ``transfer``, ``PostEntry``/``Leg``, ``CreateHold``, ``PostHold``, ``VoidHold``,
  ``Reverse`` and their results ``EntryResult``, ``HoldResult``;
- ``Ledger`` (operations on one connection) and ``GroupCommitter`` (the batched hot path);
- ``accounts``: open, status, balances (now and at an instant), statements, the system chart.
"""

from qianbao.ledger import accounts
from qianbao.ledger.commands import (
    Command,
    CreateHold,
    EntryResult,
    HoldResult,
    Leg,
    PostEntry,
    PostHold,
    PostingResult,
    Reverse,
    VoidHold,
    transfer,
)
from qianbao.ledger.group_commit import GroupCommitter
from qianbao.ledger.service import Ledger

__all__ = [
    "Command",
    "CreateHold",
    "EntryResult",
    "GroupCommitter",
    "HoldResult",
    "Ledger",
    "Leg",
    "PostEntry",
    "PostHold",
    "PostingResult",
    "Reverse",
    "VoidHold",
    "accounts",
    "transfer",
]
