"""The operator's receiving bank accounts: shown to users on the top-up page, and what an
imported statement must belong to. Each has a ledger account of its own that mirrors the bank's
balance (kind ``bank_clearing``, code ``bank:<code>``): money in is a debit of it, so its
balance is the bank balance with the sign turned."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select

from qianbao.banking.models import ReceivingAccount
from qianbao.kernel.clock import clock_of
from qianbao.kernel.money import currency as lookup_currency
from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts

_SPACES = re.compile(r"[\s\-]")


def compact(account: str) -> str:
    """An account number as statements are compared: no spaces or hyphens, upper case."""
    return _SPACES.sub("", account or "").upper()


async def add(
    session: Any,
    *,
    code: str,
    holder_name: str,
    bank_name: str,
    account_number: str,
    currency: str,
    statement_id: str | None = None,
    bic: str | None = None,
    branch: str | None = None,
) -> ReceivingAccount:
    """Add a receiving account (idempotent by ``code``), with its mirror in the ledger."""
    lookup_currency(currency)
    existing = await session.scalar(select(ReceivingAccount).where(ReceivingAccount.code == code))
    if existing is not None:
        return existing
    ledger = await Ledger.of_session(session)
    mirror, _ = await ledger_accounts.open_account(
        ledger.conn,
        key=f"bank:{code}",
        currency=currency,
        kind="bank_clearing",
        code=f"bank:{code}",
        no_negative=False,
        metadata={"receiving_account": code},
    )
    row = ReceivingAccount(
        id=uuid.uuid4(),
        code=code,
        holder_name=holder_name,
        bank_name=bank_name,
        branch=branch,
        account_number=account_number,
        bic=bic,
        currency=currency,
        statement_id=compact(statement_id or account_number),
        ledger_account_id=mirror.id,
        created_at=clock_of(session).now(),
    )
    session.add(row)
    await session.flush()
    return row


async def active(session: Any, currency: str | None = None) -> list[ReceivingAccount]:
    query = select(ReceivingAccount).where(ReceivingAccount.active.is_(True))
    if currency is not None:
        query = query.where(ReceivingAccount.currency == currency)
    return list((await session.execute(query.order_by(ReceivingAccount.code))).scalars())


async def all_accounts(session: Any) -> list[ReceivingAccount]:
    return list(
        (await session.execute(select(ReceivingAccount).order_by(ReceivingAccount.code))).scalars()
    )


async def by_statement_account(session: Any, account: str) -> ReceivingAccount | None:
    return await session.scalar(
        select(ReceivingAccount).where(ReceivingAccount.statement_id == compact(account))
    )


async def by_code(session: Any, code: str) -> ReceivingAccount | None:
    return await session.scalar(select(ReceivingAccount).where(ReceivingAccount.code == code))


async def update(
    session: Any,
    code: str,
    *,
    holder_name: str,
    bank_name: str,
    branch: str | None,
    active: bool,
) -> ReceivingAccount:
    """Rename or (de)activate an account (the finance console, after a second operator
    approved). Its number, currency and ledger mirror never change: a new number is a new
    account. An inactive account is no longer shown to users; its statements still import."""
    row = await session.scalar(
        select(ReceivingAccount).where(ReceivingAccount.code == code).with_for_update()
    )
    if row is None:
        raise LookupError(code)
    row.holder_name, row.bank_name, row.branch, row.active = holder_name, bank_name, branch, active
    await session.flush()
    return row
