"""Payment rails: the interfaces to the outside money systems the wallet uses — a card acquirer
for top-ups and a payout provider for withdrawals — and their development backends (a sandbox
acquirer with a hosted confirmation page and signed callbacks; a payout backend that writes each
instruction to a local file and settles it). The wallet depends on the interfaces only."""

from qianbao.rails.acquiring import (
    CallbackRejected,
    CardAcquirer,
    CardPaymentCreated,
    CardPaymentEvent,
    CardPaymentRequest,
)
from qianbao.rails.payouts import PayoutInstruction, PayoutProvider, PayoutStatus

__all__ = [
    "CallbackRejected",
    "CardAcquirer",
    "CardPaymentCreated",
    "CardPaymentEvent",
    "CardPaymentRequest",
    "PayoutInstruction",
    "PayoutProvider",
    "PayoutStatus",
]
