"""A merchant's money in the ledger: one ``merchant`` account per currency (it may never go
negative: refunds and payouts come out of what the merchant was paid), and its fees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.ledger.accounts import Account
from qianbao.merchants.models import Merchant
from qianbao.settings_money import FeeRule
from qianbao.wallet.fees import FeeSchedule

CURRENCY = "CNY"  # merchants take CNY today (issue 19 brings other currencies)


# A merchant's ledger account id never changes once opened (accounts are never deleted) and a
# merchant id is a UUID: the id is remembered per process, which saves the hot path a lookup.
# Only an account found already there is remembered: one opened by this transaction may yet be
# rolled back.
_ACCOUNT_IDS: dict[tuple[uuid.UUID, str], int] = {}


async def merchant_account_id(
    session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY
) -> int:
    found = _ACCOUNT_IDS.get((merchant_id, currency))
    if found is not None:
        return found
    account, existed = await _account(session, merchant_id, currency)
    if existed:
        if len(_ACCOUNT_IDS) > 100_000:
            _ACCOUNT_IDS.clear()
        _ACCOUNT_IDS[(merchant_id, currency)] = account.id
    return account.id


async def merchant_account(
    session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY
) -> Account:
    return (await _account(session, merchant_id, currency))[0]


async def _account(session: Any, merchant_id: uuid.UUID, currency: str) -> tuple[Account, bool]:
    """The merchant's ledger account, opened if need be; and whether it was there already."""
    ledger = await Ledger.of_session(session)
    key = f"merchant:{merchant_id}:{currency}"
    existing = await ledger_accounts.account_by_key(ledger.conn, key)
    if existing is not None:
        return existing, True
    account, _ = await ledger_accounts.open_account(
        ledger.conn, key=key, currency=currency, kind="merchant", owner_id=merchant_id
    )
    return account, False


def fee_for(merchant: Merchant, method: str, amount: int, currency: str) -> int:
    """The merchant discount on a payment of ``amount`` by ``method`` (its own fee plan)."""
    rule = (merchant.fee_plan or {}).get(method)
    if not rule:
        return 0
    fee = FeeSchedule.from_rule(FeeRule.model_validate(rule), currency).fee_for(amount)
    return min(fee, amount)


@dataclass(frozen=True)
class MerchantBalance:
    currency: str
    available: int
    pending: int  # held for a payout in progress
    posted: int


async def balance_of(
    session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY
) -> MerchantBalance:
    account = await merchant_account(session, merchant_id, currency)
    return MerchantBalance(currency, account.available, account.pending_out, account.posted)
