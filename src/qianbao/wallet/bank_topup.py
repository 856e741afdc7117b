"""Top-up by bank transfer (B3): a statement line whose memo carries the user's reference code
(``wallet.bank_reference``) credits their wallet — one ledger entry from the receiving
account's mirror (or, when an operator matches a suspense item, from the bank-transfer
suspense account) to the wallet, the wallet's history row and the user's notice, in the caller's
transaction. The statement importer (``qianbao.banking``) decides which lines come here; this
module decides whether the wallet can take the money.

A credit the wallet cannot take is refused with a reason and moves nothing (``CreditRefused``):
the user is unknown, the wallet is frozen or closed, or the amount is over the user's top-up
limit for their tier (the line then waits for an operator's review: ``enforce_limits=False`` is
the operator's approval). The ledger refuses a credit to a wallet frozen a moment ago on its own
(an outcome, not an error), so a refusal leaves the file's transaction usable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import select, text

from qianbao.identity.models import User
from qianbao.identity.phones import mask_name
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.errors import DomainError
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.kernel.outbox import emit_many
from qianbao.ledger import Ledger, PostEntry
from qianbao.ledger import transfer as ledger_transfer
from qianbao.ledger.commands import EntryResult
from qianbao.ledger.errors import AccountClosed, AccountFrozen
from qianbao.risk.limits import Limit, Usage, decide
from qianbao.risk.repository import NOTHING_ALLOWED
from qianbao.wallet.accounts import wallet_accounts
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
    """One credit (an operator's match of a suspense item): ``credit_many`` of one."""
    (outcome,) = await credit_many(session, [item])
    if isinstance(outcome, CreditRefused):
        raise outcome
    return outcome


async def credit_many(
    session: Any, items: Sequence[BankCredit]
) -> list[WalletTransaction | CreditRefused]:
    """Credit ``items`` in order, each taken or refused on its own (the outcome at its index).

    A statement's thousand lines cost a handful of statements, whatever their number: the users
    and wallets are read at once, the limit locks are taken in one statement (sorted, so two
    imports cannot deadlock), the usage of every user is read in one statement, the credits are
    one ledger batch (the receiving account's mirror is updated once, not once per line: a hot
    row updated per line in one transaction slows every next update down), and the history rows
    and notices are written in one statement each. Two credits of one user in the batch are
    judged against each other's amounts, as if they came one after the other."""
    if not items:
        return []
    outcomes: list[WalletTransaction | CreditRefused | None] = [None] * len(items)
    tiers = await _tiers(session, {item.user_id for item in items})
    accounts = await _wallets(
        session, {(i.user_id, i.amount.currency) for i in items if i.user_id in tiers}
    )
    judged = [i for i, item in enumerate(items) if item.user_id in tiers and item.enforce_limits]
    usage = await _usage(
        session, [(items[i].user_id, items[i].amount.currency) for i in judged], tiers
    )
    for i, item in enumerate(items):
        if item.user_id not in tiers:
            outcomes[i] = CreditRefused("user_unknown")
            continue
        account = accounts[(item.user_id, item.amount.currency)]
        if account.status in ("frozen", "closed"):
            outcomes[i] = CreditRefused(
                "wallet_frozen" if account.status == "frozen" else "wallet_closed"
            )
            continue
        if item.enforce_limits:
            limit, used = usage[(item.user_id, item.amount.currency)]
            if not decide(limit, used, item.amount.minor).allowed:
                outcomes[i] = CreditRefused("over_limit")
                continue
            usage[(item.user_id, item.amount.currency)] = (limit, _plus(used, item.amount.minor))
    todo = [i for i, o in enumerate(outcomes) if o is None]
    if not todo:
        return [o for o in outcomes if o is not None]
    ledger = await Ledger.of_session(session)
    posted = await ledger.execute(
        [_entry(items[i], accounts[(items[i].user_id, items[i].amount.currency)].id) for i in todo]
    )
    now = clock_of(session).now()
    rows: list[WalletTransaction] = []
    for i, result in zip(todo, posted, strict=True):
        if isinstance(result, AccountFrozen):  # frozen a moment ago, between the read and now
            outcomes[i] = CreditRefused("wallet_frozen")
        elif isinstance(result, AccountClosed):
            outcomes[i] = CreditRefused("wallet_closed")
        elif isinstance(result, DomainError):
            raise result
        else:
            assert isinstance(result, EntryResult)
            item = items[i]
            account_id = accounts[(item.user_id, item.amount.currency)].id
            row = _history_row(item, account_id, result, now)
            outcomes[i] = row
            rows.append(row)
    session.add_all(rows)
    await session.flush()
    await emit_many(
        session,
        NOTIFY_TOPIC,
        [{"transaction_id": str(row.id), "template": TEMPLATE} for row in rows],
    )
    return [o for o in outcomes if o is not None]


async def _tiers(session: Any, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(User.id, User.kyc_tier).where(User.id.in_(sorted(user_ids, key=str)))
    )
    return {user_id: tier for user_id, tier in rows}


async def _wallets(
    session: Any, wanted: set[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], Any]:
    ordered = sorted(wanted, key=lambda w: (str(w[0]), w[1]))
    found = await wallet_accounts(session, ordered)
    return dict(zip(ordered, found, strict=True))


_LOCK_MANY = text(
    "SELECT count(pg_advisory_xact_lock(hashtext(k)))"
    " FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS u(k) ORDER BY k) AS s"
)

# The limit and the usage of the day and month of many users at once: what ``limits.enforce``
# reads per user (the function ``wallet_limit_usage``, migration 0026) as one set-based
# statement (the function called once per user in a lateral join took ~4 ms a user).
_USAGE_MANY = text(
    """
    SELECT u.user_id, coalesce(x.da, 0), coalesce(x.dc, 0), coalesce(x.ma, 0), coalesce(x.mc, 0),
           l.single_max, l.daily_max, l.daily_count, l.monthly_max, l.monthly_count
      FROM unnest(CAST(:user_ids AS uuid[]), CAST(:tiers AS int[])) AS u(user_id, tier)
      LEFT JOIN LATERAL (
            SELECT sum(w.amount) FILTER (WHERE w.created_at >= :day_start) AS da,
                   count(*) FILTER (WHERE w.created_at >= :day_start) AS dc,
                   sum(w.amount) AS ma, count(*) AS mc
              FROM wallet_transactions w
             WHERE w.user_id = u.user_id AND w.kind = 'topup' AND w.direction = 'in'
               AND w.currency = :currency AND w.status IN ('completed', 'pending')
               AND w.created_at >= :month_start
           ) AS x ON true
      LEFT JOIN risk_limits l
        ON l.tier = u.tier AND l.channel = 'topup' AND l.currency = :currency
    """
)


async def _usage(
    session: Any, wanted: list[tuple[uuid.UUID, str]], tiers: dict[uuid.UUID, int]
) -> dict[tuple[uuid.UUID, str], tuple[Limit, Usage]]:
    """Each (user, currency)'s top-up limit and usage, under the user's top-up limit lock (the
    one ``limits.enforce`` takes: a card top-up of the same user waits for this transaction)."""
    if not wanted:
        return {}
    users = sorted({user_id for user_id, _ in wanted}, key=str)
    await session.execute(_LOCK_MANY, {"keys": sorted(f"limits:topup:{u}" for u in users)})
    now = clock_of(session).now()
    day_start = datetime.combine(now.astimezone(LOCAL_TZ).date(), time.min, tzinfo=LOCAL_TZ)
    found: dict[tuple[uuid.UUID, str], tuple[Limit, Usage]] = {}
    for currency in sorted({c for _, c in wanted}):
        ids = sorted({u for u, c in wanted if c == currency}, key=str)
        rows = await session.execute(
            _USAGE_MANY,
            {
                "user_ids": [str(u) for u in ids],
                "tiers": [tiers[u] for u in ids],
                "currency": currency,
                "day_start": day_start,
                "month_start": day_start.replace(day=1),
            },
        )
        for row in rows:
            user_id = uuid.UUID(str(row[0]))
            if row[5] is None:  # no limit for this tier and currency: nothing is allowed
                limit = Limit(tiers[user_id], "topup", currency, *NOTHING_ALLOWED)
            else:
                limit = Limit(tiers[user_id], "topup", currency, *(int(v) for v in row[5:10]))
            found[(user_id, currency)] = (limit, Usage(*(int(v) for v in row[1:5])))
    return found


def _plus(used: Usage, amount: int) -> Usage:
    return Usage(
        used.day_amount + amount,
        used.day_count + 1,
        used.month_amount + amount,
        used.month_count + 1,
    )


def _entry(item: BankCredit, account_id: int) -> PostEntry:
    return ledger_transfer(
        item.key,
        debit_account_id=item.source_account_id,
        credit_account_id=account_id,
        amount=item.amount.minor,
        currency=item.amount.currency,
        entry_type=item.entry_type,
        metadata={"bank_line": str(item.line_id), "user": str(item.user_id)},
    )


def _history_row(
    item: BankCredit, account_id: int, entry: EntryResult, now: datetime
) -> WalletTransaction:
    return WalletTransaction(
        id=uuid7(),
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
