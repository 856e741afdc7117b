"""Merchant test helpers: an active merchant with an API key, made through the services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from qianbao.ledger import Ledger
from qianbao.ledger.accounts import system_account_id
from qianbao.merchants import keys, onboarding
from qianbao.merchants.accounts import balance_of, fee_account_ids
from qianbao.merchants.models import Merchant
from tests.support.secrets import remember

# Valid Unified Social Credit Codes (check digit by python-stdnum's algorithm).
_USCC_BASES = itertools.count(1)
SETTLEMENT_IBAN = "DE89370400440532013000"


def uscc(n: int | None = None) -> str:
    from stdnum.cn import uscc as number

    base = f"91110000{(n if n is not None else next(_USCC_BASES)):09d}"
    return base + number.calc_check_digit(base)


@dataclass
class Shop:
    id: Any
    code: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def make_merchant(
    app: FastAPI,
    *,
    name_zh: str = "测试咖啡",
    name_en: str = "Test Coffee",
    status: str = "active",
    scopes: tuple[str, ...] = ("read", "payments", "refunds"),
    fee_plan: dict[str, Any] | None = None,
    settlement_number: str = SETTLEMENT_IBAN,
) -> Shop:
    ctx = app.state.identity
    async with app.state.db.transaction() as s:
        merchant = await onboarding.create(
            s,
            ctx,
            onboarding.Application(
                name_zh=name_zh,
                name_en=name_en,
                category="5814",
                uscc=uscc(),
                settlement_number=settlement_number,
                settlement_holder=name_en,
            ),
            status=status,
        )
        if fee_plan is not None:
            merchant.fee_plan = fee_plan
        _, secret = await keys.create_key(
            s, ctx, merchant, name="test", scopes=list(scopes), by=None
        )
    remember(secret)
    return Shop(id=merchant.id, code=merchant.code, api_key=secret)


async def merchant_balance(app: FastAPI, merchant_id: Any) -> tuple[int, int]:
    """(posted, available) of the merchant's CNY balance (over all its accounts), in fen."""
    async with app.state.db.transaction() as s:
        balance = await balance_of(s, merchant_id)
        return balance.posted, balance.available


async def system_balance(app: FastAPI, kind: str, code: str = "default") -> int:
    """A system account's posted balance; for ``fee_revenue``, with the merchant fee accounts
    beside it (merchant discounts are spread over them)."""
    async with app.state.db.transaction() as s:
        if kind == "fee_revenue" and code == "default":
            ledger = await Ledger.of_session(s)
            ids = await fee_account_ids(ledger.conn, "CNY")
            return int(
                await ledger.conn.fetchval(
                    "SELECT sum(posted) FROM ledger_accounts WHERE id = ANY($1::bigint[])", ids
                )
            )
        ledger = await Ledger.of_session(s)
        account_id = await system_account_id(ledger.conn, kind, "CNY", code)
        return int(
            await ledger.conn.fetchval(
                "SELECT posted FROM ledger_accounts WHERE id = $1", account_id
            )
        )


async def set_status(app: FastAPI, merchant_id: Any, status: str) -> None:
    async with app.state.db.transaction() as s:
        merchant = (
            await s.execute(select(Merchant).where(Merchant.id == merchant_id))
        ).scalar_one()
        merchant.status = status
