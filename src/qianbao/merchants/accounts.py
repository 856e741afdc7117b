"""A merchant's money in the ledger, and its fees.

A busy shop takes many payments at the same instant, and every payment credits the shop and the
fee revenue. One ledger account each would make those rows a queue: each payment holds them
locked from the ledger's lock to COMMIT. So a merchant's balance in a currency is spread over
``SHARDS`` accounts of kind ``merchant`` (shard 0, the *main* account, and shards 1 … 15, opened
with the merchant), and the merchant discount over as many ``fee_revenue`` accounts (shard 0 is the
chart's own fee revenue account). A payment credits the shard its id picks. Nothing may go
negative. Debits take the merchant's money lock first (``money_lock``): a refund debits the
shards that hold enough, a settlement first gathers the shards into the main account and holds
the payout there. The merchant's balance is the sum of its shards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.ids import uuid7
from qianbao.ledger import Ledger, Leg, PostEntry
from qianbao.ledger import accounts as ledger_accounts
from qianbao.ledger.accounts import Account
from qianbao.merchants.models import Merchant
from qianbao.settings_money import FeeRule
from qianbao.wallet.fees import FeeSchedule

CURRENCY = "CNY"  # merchants take CNY today (issue 19 brings other currencies)
SHARDS = 16  # accounts per merchant and currency, and merchant-fee accounts per currency
GATHER_ENTRY_TYPE = "merchant_gather"  # shards → main account, before a payout

# Ledger account ids never change once opened (accounts are never deleted) and merchant ids are
# UUIDs: ids are remembered per process, which saves the hot path its lookups. Only an account
# found already there is remembered: one opened by this transaction may yet be rolled back.
_ACCOUNT_IDS: dict[tuple[Any, str, int], int] = {}


def shard_of(payment_id: uuid.UUID) -> int:
    """The shard a payment credits (its id's random low bits: spread evenly)."""
    return payment_id.int % SHARDS


def _remember(key: tuple[Any, str, int], account_id: int) -> None:
    if len(_ACCOUNT_IDS) > 100_000:
        _ACCOUNT_IDS.clear()
    _ACCOUNT_IDS[key] = account_id


def _merchant_key(merchant_id: uuid.UUID, currency: str, shard: int) -> str:
    base = f"merchant:{merchant_id}:{currency}"
    return base if shard == 0 else f"{base}:{shard}"


async def merchant_account_id(
    session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY, shard: int = 0
) -> int:
    """The id of one of the merchant's accounts (``shard`` 0: the main one), opened if need be."""
    found = _ACCOUNT_IDS.get((merchant_id, currency, shard))
    if found is not None:
        return found
    account, existed = await _account(session, merchant_id, currency, shard)
    if existed:
        _remember((merchant_id, currency, shard), account.id)
    return account.id


async def merchant_account(
    session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY
) -> Account:
    """The merchant's main account (where payouts are held and returned payouts come back)."""
    return (await _account(session, merchant_id, currency, 0))[0]


async def _account(
    session: Any, merchant_id: uuid.UUID, currency: str, shard: int
) -> tuple[Account, bool]:
    """One of the merchant's accounts, opened if need be; and whether it was there already."""
    ledger = await Ledger.of_session(session)
    key = _merchant_key(merchant_id, currency, shard)
    existing = await ledger_accounts.account_by_key(ledger.conn, key)
    if existing is not None:
        return existing, True
    account, _ = await ledger_accounts.open_account(
        ledger.conn, key=key, currency=currency, kind="merchant", owner_id=merchant_id
    )
    return account, False


async def open_accounts(session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY) -> None:
    """Open all the merchant's accounts now (when it is created or activated), so that its first
    payments at the same instant do not wait on each other opening them."""
    for shard in range(SHARDS):
        await merchant_account_id(session, merchant_id, currency, shard)


async def fee_account_id(conn: Any, currency: str, shard: int = 0) -> int:
    """The fee revenue account of a shard: 0 is the chart's own ``fee_revenue``, the others
    ``fee_revenue:merchant-<shard>`` (migration 0018)."""
    code = "default" if shard == 0 else f"merchant-{shard}"
    return await ledger_accounts.system_account_id(conn, "fee_revenue", currency, code)


async def fee_account_ids(conn: Any, currency: str) -> list[int]:
    """Every fee revenue account merchant discounts go to."""
    return [await fee_account_id(conn, currency, shard) for shard in range(SHARDS)]


async def shards(session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY) -> list[Account]:
    """The merchant's accounts in ``currency`` that exist, main account first."""
    ledger = await Ledger.of_session(session)
    main_id = await merchant_account_id(session, merchant_id, currency)
    found = [
        a
        for a in await ledger_accounts.accounts_of_owner(ledger.conn, merchant_id)
        if a.kind == "merchant" and a.currency == currency
    ]
    return sorted(found, key=lambda a: (a.id != main_id, a.id))


async def money_lock(session: Any, merchant_id: uuid.UUID) -> None:
    """Take the merchant's money lock until the transaction ends: what debits the merchant
    (refunds, settlements) reads the shards' balances and debits them one at a time. Payments
    only credit, and never take it."""
    await lock_for_transaction(session, f"merchant-money:{merchant_id}")


async def debit_legs(session: Any, merchant_id: uuid.UUID, currency: str, amount: int) -> list[Leg]:
    """Legs taking ``amount`` out of the merchant's shards, main account first (the caller has
    the money lock, so what is read stays there until it posts). When the shards hold less, one
    leg for all of it on the main account: the ledger refuses it as insufficient funds."""
    legs: list[Leg] = []
    left = amount
    found = await shards(session, merchant_id, currency)
    for account in found:
        take = min(left, max(account.available, 0))
        if take:
            legs.append(Leg(account.id, -take, currency))
            left -= take
        if not left:
            return legs
    main = await merchant_account_id(session, merchant_id, currency)
    return [Leg(main, -amount, currency)]


async def gather(session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY) -> Account:
    """Move what the other shards hold into the main account (one balanced entry) and return
    the main account as it is then. The caller has the money lock."""
    found = await shards(session, merchant_id, currency)
    main_id = await merchant_account_id(session, merchant_id, currency)
    legs = [Leg(a.id, -a.available, currency) for a in found if a.id != main_id and a.available]
    if legs:
        ledger = await Ledger.of_session(session)
        total = -sum(leg.amount for leg in legs)
        await ledger.post(
            PostEntry(
                key=f"merchant-gather:{merchant_id}:{uuid7()}",
                legs=(*legs, Leg(main_id, total, currency)),
                entry_type=GATHER_ENTRY_TYPE,
                metadata={"merchant_id": str(merchant_id)},
            )
        )
    return await merchant_account(session, merchant_id, currency)


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
    """The merchant's balance: the sum of its accounts in ``currency``."""
    found = await shards(session, merchant_id, currency)
    return MerchantBalance(
        currency,
        sum(a.available for a in found),
        sum(a.pending_out for a in found),
        sum(a.posted for a in found),
    )
