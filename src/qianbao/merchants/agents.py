"""Cash agents (B5): shops where customers turn cash into e-money and back.

An agent is a merchant with a place (district, address, position), opening hours, a commission
rate and an **e-money float**: a ledger account of kind ``agent_float`` holding the e-money it
sells to customers for their cash. The agent tops the float up by bank transfer with its own
reference code (the bank-rails importer credits the float), or receives e-money from customers'
cash-outs. This module: the agents and the nearest-points finder; the cash operations are in
``cash_operations``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from qianbao.kernel.clock import clock_of
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.merchants import places
from qianbao.merchants.errors import MerchantNotActive
from qianbao.merchants.errors_agents import (
    NotAnAgent,
)
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_agents import CashAgent
from qianbao.wallet.bank_reference import new_code
from qianbao.wallet.models_bank import BankReference

CURRENCY = "CNY"


@dataclass(frozen=True)
class Point:
    """An agent as the finder shows it."""

    agent: CashAgent
    merchant: Merchant
    distance_km: float | None
    open_now: bool


# -- agents ---------------------------------------------------------------------------------------
async def agent_of(session: Any, merchant_id: uuid.UUID) -> CashAgent | None:
    return await session.get(CashAgent, merchant_id)


async def require_agent(session: Any, merchant: Merchant) -> CashAgent:
    agent = await agent_of(session, merchant.id)
    if agent is None:
        raise NotAnAgent()
    return agent


async def _free_reference(session: Any) -> str:
    """A bank reference code no user and no agent has."""
    while True:
        code = new_code()
        taken_by_user = await session.scalar(
            select(BankReference).where(BankReference.code == code)
        )
        taken_by_agent = await session.scalar(
            select(CashAgent).where(CashAgent.bank_reference == code)
        )
        if taken_by_user is None and taken_by_agent is None:
            return code


async def register(
    session: Any,
    settings: Any,
    merchant: Merchant,
    *,
    city: tuple[str, str],
    district: tuple[str, str],
    address: tuple[str, str],
    latitude: Decimal,
    longitude: Decimal,
    hours: list[Any],
    phone: str | None = None,
) -> CashAgent:
    """Make an active merchant a cash agent (idempotent: an agent keeps its float and code)."""
    if merchant.status != "active":
        raise MerchantNotActive()
    found = await agent_of(session, merchant.id)
    if found is not None:
        return found
    ledger = await Ledger.of_session(session)
    float_account, _ = await ledger_accounts.open_account(
        ledger.conn,
        key=f"agent_float:{merchant.id}:{CURRENCY}",
        currency=CURRENCY,
        kind="agent_float",
        owner_id=merchant.id,
    )
    conf = settings.merchants.agents
    agent = CashAgent(
        merchant_id=merchant.id,
        city_zh=city[0],
        city_en=city[1],
        district_zh=district[0],
        district_en=district[1],
        address_zh=address[0],
        address_en=address[1],
        latitude=latitude,
        longitude=longitude,
        hours=hours,
        phone=phone,
        status="active",
        bank_reference=await _free_reference(session),
        float_account_id=float_account.id,
        commission_in=Decimal(conf.commission_in),
        commission_out=Decimal(conf.commission_out),
    )
    session.add(agent)
    await session.flush()
    return agent


async def float_balance(session: Any, agent: CashAgent) -> int:
    ledger = await Ledger.of_session(session)
    return (await ledger_accounts.get_account(ledger.conn, agent.float_account_id)).available


async def owners_of_references(session: Any, codes: set[str]) -> dict[str, CashAgent]:
    """The agents whose bank reference codes these are (the statement import's lookup)."""
    if not codes:
        return {}
    rows = await session.execute(select(CashAgent).where(CashAgent.bank_reference.in_(codes)))
    return {a.bank_reference: a for a in rows.scalars()}


def commission(amount: int, percent: Decimal) -> int:
    return int((Decimal(amount) * percent / 100).to_integral_value(ROUND_HALF_UP))


def threshold(settings: Any) -> Money:
    return Money.parse(settings.merchants.agents.cash_out_id_check_above, CURRENCY)


# -- the finder -----------------------------------------------------------------------------------
async def nearest(session: Any, *, lat: float | None, lon: float | None, limit: int) -> list[Point]:
    """Active agents, nearest first (by name when no position is given)."""
    rows = await session.execute(
        select(CashAgent, Merchant)
        .join(Merchant, Merchant.id == CashAgent.merchant_id)
        .where(CashAgent.status == "active", Merchant.status == "active")
    )
    now = clock_of(session).now()
    found = []
    for agent, merchant in rows.all():
        distance = (
            places.distance_km(lat, lon, float(agent.latitude), float(agent.longitude))
            if lat is not None and lon is not None
            else None
        )
        found.append(Point(agent, merchant, distance, places.is_open(agent.hours, now)))
    found.sort(key=lambda p: (p.distance_km if p.distance_km is not None else 0, p.merchant.code))
    return found[:limit]
