"""Top-up by bank transfer (B3): a statement line whose memo carries the user's reference code
(``wallet.bank_reference``) credits their wallet — one ledger entry from the receiving
account's mirror (or, when an operator matches a suspense item, from the bank-transfer
suspense account) to the wallet, the wallet's history row and the user's notice, in the caller's
transaction. The statement importer (``qianbao.banking``) decides which lines come here; this
module decides whether the wallet can take the money.

A credit the wallet cannot take is refused with a reason and moves nothing (``CreditRefused``):
the user is unknown, the wallet is frozen or closed, or the amount is over the user's top-up
limit for their tier (the line then waits for an operator's review: ``enforce_limits=False`` is
the operator's approval). Each attempt runs in a savepoint, so a refusal found by the ledger
(a wallet frozen a moment ago) leaves the file's transaction usable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from qianbao.identity.models import User
from qianbao.identity.phones import mask_name
from qianbao.kernel.clock import clock_of
from qianbao.kernel.money import Money
from qianbao.kernel.outbox import emit
from qianbao.ledger import Ledger
from qianbao.ledger import transfer as ledger_transfer
from qianbao.ledger.errors import AccountClosed, AccountFrozen
from qianbao.risk.limits import LimitExceeded
from qianbao.wallet import limits
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.transfer import new_reference

NOTIFY_TOPIC = "wallet.transaction_updated"
TEMPLATE = "wallet.bank_transfer_received"


@dataclass(frozen=True)
class BankCredit:
    user_id: uuid.UUID
    amount: Money
    source_account_id: int  # where the money comes from in the ledger
    key: str  # the ledger command key: one credit per key, ever
    line_id: uuid.UUID  # the statement line (for the history row and the operator)
    bank_name: str  # the receiving account's bank, as the user paid it
    payer_name: str | None = None
    enforce_limits: bool = True  # False: an operator approved a credit over the limit
    entry_type: str = "topup_bank"


class CreditRefused(Exception):
    """The wallet cannot take this credit; ``reason``: user_unknown, wallet_frozen,
    wallet_closed, over_limit. Nothing moved."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def credit(session: Any, item: BankCredit) -> WalletTransaction:
    user = await session.get(User, item.user_id)
    if user is None:
        raise CreditRefused("user_unknown")
    account = await wallet_account(session, user.id, item.amount.currency)
    if account.status in ("frozen", "closed"):
        raise CreditRefused("wallet_frozen" if account.status == "frozen" else "wallet_closed")
    try:
        async with session.begin_nested():
            if item.enforce_limits:
                await limits.enforce(session, user, "topup", item.amount)
            return await _post(session, item, account.id)
    except LimitExceeded:
        raise CreditRefused("over_limit") from None
    except AccountFrozen:
        raise CreditRefused("wallet_frozen") from None
    except AccountClosed:
        raise CreditRefused("wallet_closed") from None


async def _post(session: Any, item: BankCredit, account_id: int) -> WalletTransaction:
    ledger = await Ledger.of_session(session)
    entry = await ledger.post(
        ledger_transfer(
            item.key,
            debit_account_id=item.source_account_id,
            credit_account_id=account_id,
            amount=item.amount.minor,
            currency=item.amount.currency,
            entry_type=item.entry_type,
            metadata={"bank_line": str(item.line_id), "user": str(item.user_id)},
        )
    )
    now = clock_of(session).now()
    row = WalletTransaction(
        user_id=item.user_id,
        account_id=account_id,
        kind="topup",
        direction="in",
        status="completed",
        currency=item.amount.currency,
        amount=item.amount.minor,
        counterparty_name=mask_name(item.payer_name) or None,
        reference=new_reference(now),
        entry_id=entry.entry_id,
        balance_after=next(p.balance_after for p in entry.postings if p.account_id == account_id),
        details={
            "channel": "bank_transfer",
            "bank": item.bank_name,
            "bank_line_id": str(item.line_id),
        },
        created_at=now,
        listed_at=now,
    )
    session.add(row)
    await session.flush()
    await emit(session, NOTIFY_TOPIC, {"transaction_id": str(row.id), "template": TEMPLATE})
    return row
