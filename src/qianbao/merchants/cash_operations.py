"""Cash in and cash out at an agent (B5), asked by the agent and confirmed by the customer.

- **Cash in**: the customer hands over cash; the agent asks for the amount with the customer's
  phone number or payment code; the customer confirms with the PIN on their phone. The float
  pays the customer; the operator pays the agent its commission into the float.
- **Cash out**: the reverse: the customer's wallet pays the float, the agent hands over cash.
  Above a threshold the customer must be verified with documents (tier 2) and the agent must
  say it checked the ID card.

Each request is one ``CashOperation`` (idempotent per agent and key; expires after a few
minutes); the confirmation books one ledger entry with the commission as its own leg, writes
the customer's wallet row (a top-up or a withdrawal "by cash", so the customer's limits apply)
and closes the request — once, also when the customer taps twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from qianbao.identity import pin as identity_pin
from qianbao.identity.accounts import by_phone
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import AccountFrozen, InvalidPhoneNumber
from qianbao.identity.models import User
from qianbao.identity.phones import mask_phone, normalize_phone
from qianbao.kernel.clock import clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.ledger.commands import Leg, PostEntry, check_key
from qianbao.ledger.errors import InsufficientFunds
from qianbao.merchants import payment_codes
from qianbao.merchants.agents import (
    CURRENCY,
    commission,
    float_balance,
    require_agent,
    threshold,
)
from qianbao.merchants.errors import CurrencyNotAccepted, MerchantNotActive
from qianbao.merchants.errors_agents import (
    AgentPaused,
    CannotServeYourself,
    CustomerNotFound,
    FloatInsufficient,
    IdCheckRequired,
    RequestClosed,
    RequestExpired,
    RequestNotFound,
    Tier2Required,
)
from qianbao.merchants.models import Merchant, MerchantStaff
from qianbao.merchants.models_agents import CashAgent, CashOperation
from qianbao.notifications import inbox
from qianbao.wallet import limits
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.transfer import new_reference

CHANNEL = {"cash_in": "topup", "cash_out": "withdrawal"}


# -- a request ------------------------------------------------------------------------------------
async def _customer(session: Any, ctx: IdentityContext, merchant: Merchant, who: str) -> User:
    text = (who or "").strip().replace(" ", "")
    if text.isascii() and text.isdigit() and len(text) == payment_codes.CODE_LENGTH:
        return await payment_codes.holder(session, ctx, merchant, text)
    try:
        phone = normalize_phone(who)
    except InvalidPhoneNumber:
        raise CustomerNotFound() from None
    user = await by_phone(session, phone)
    if user is None or user.is_staff or user.role == "merchant_staff":
        raise CustomerNotFound()
    return user


def _check_identity(settings: Any, customer: User, kind: str, amount: Money, checked: bool) -> None:
    limit = threshold(settings)
    if kind != "cash_out" or amount.minor <= limit.minor:
        return
    if customer.kyc_tier < 2:
        raise Tier2Required(amount=limit)
    if not checked:
        raise IdCheckRequired(amount=limit)


async def request(
    session: Any,
    ctx: IdentityContext,
    merchant: Merchant,
    staff: User,
    *,
    kind: str,
    customer: str,
    amount: Money,
    id_checked: bool,
    key: str,
) -> CashOperation:
    """The agent asks: cash in or out ``amount`` for the customer (phone or payment code). The
    customer confirms on the phone; nothing moves before."""
    check_key(key)
    if kind not in CHANNEL:
        raise RequestNotFound()
    agent = await require_agent(session, merchant)
    replay = await session.scalar(
        select(CashOperation).where(
            CashOperation.agent_id == merchant.id, CashOperation.idempotency_key == key
        )
    )
    if replay is not None:
        return replay
    if merchant.status != "active":
        raise MerchantNotActive()
    if agent.status != "active":
        raise AgentPaused()
    if amount.currency != CURRENCY:
        raise CurrencyNotAccepted()
    user = await _customer(session, ctx, merchant, customer)
    staffed = await session.scalar(
        select(MerchantStaff).where(
            MerchantStaff.merchant_id == merchant.id, MerchantStaff.user_id == user.id
        )
    )
    if staffed is not None or user.id == staff.id:
        raise CannotServeYourself()
    if user.frozen_at is not None:
        raise AccountFrozen()
    _check_identity(ctx.settings, user, kind, amount, id_checked)
    percent = agent.commission_in if kind == "cash_in" else agent.commission_out
    if kind == "cash_in" and await float_balance(session, agent) < amount.minor - commission(
        amount.minor, percent
    ):
        raise FloatInsufficient()
    now = clock_of(session).now()
    op = CashOperation(
        id=uuid7(),
        agent_id=merchant.id,
        user_id=user.id,
        kind=kind,
        currency=CURRENCY,
        amount=amount.minor,
        commission=commission(amount.minor, percent),
        status="pending",
        reference=new_reference(now),
        id_checked=id_checked,
        created_by=staff.id,
        idempotency_key=key,
        created_at=now,
        expires_at=now + timedelta(minutes=ctx.settings.merchants.agents.request_minutes),
    )
    session.add(op)
    await session.flush()
    await inbox.add(
        session,
        user_id=user.id,
        template="cash.requested_in" if kind == "cash_in" else "cash.requested_out",
        params={"amount": amount.text(), "agent": merchant.name_zh, "agent_en": merchant.name_en},
        link=f"/wallet/cash/{op.id}",
        dedup_key=f"cash:{op.id}:asked",
    )
    return op


async def cancel(session: Any, merchant: Merchant, op_id: str) -> CashOperation:
    op = await _locked(session, op_id)
    if op is None or op.agent_id != merchant.id:
        raise RequestNotFound()
    if op.status != "pending":
        raise RequestClosed()
    op.status, op.decided_at = "cancelled", clock_of(session).now()
    await session.flush()
    return op


async def operations(session: Any, merchant_id: uuid.UUID, limit: int = 20) -> list[Any]:
    """The agent's latest requests with each customer's masked phone."""
    rows = await session.execute(
        select(CashOperation, User.phone)
        .join(User, User.id == CashOperation.user_id)
        .where(CashOperation.agent_id == merchant_id)
        .order_by(CashOperation.created_at.desc())
        .limit(limit)
    )
    return [(op, mask_phone(phone)) for op, phone in rows.all()]


async def operation_for_agent(session: Any, merchant: Merchant, op_id: str) -> CashOperation:
    op = await _get(session, op_id)
    if op is None or op.agent_id != merchant.id:
        raise RequestNotFound()
    await _expire_if_due(session, op)
    return op


async def today_totals(session: Any, merchant_id: uuid.UUID, since: datetime) -> dict[str, int]:
    rows = await session.execute(
        select(
            CashOperation.kind, func.sum(CashOperation.amount), func.sum(CashOperation.commission)
        )
        .where(
            CashOperation.agent_id == merchant_id,
            CashOperation.status == "completed",
            CashOperation.decided_at >= since,
        )
        .group_by(CashOperation.kind)
    )
    out = {"cash_in": 0, "cash_out": 0, "commission": 0}
    for kind, amount, earned in rows.all():
        out[kind] = int(amount or 0)
        out["commission"] += int(earned or 0)
    return out


# -- the customer's side --------------------------------------------------------------------------
def _op_id(op_id: str | uuid.UUID) -> uuid.UUID | None:
    try:
        return op_id if isinstance(op_id, uuid.UUID) else uuid.UUID(str(op_id))
    except ValueError:
        return None


async def _get(session: Any, op_id: str | uuid.UUID) -> CashOperation | None:
    wanted = _op_id(op_id)
    return None if wanted is None else await session.get(CashOperation, wanted)


async def _locked(session: Any, op_id: str | uuid.UUID) -> CashOperation | None:
    wanted = _op_id(op_id)
    if wanted is None:
        return None
    return (
        await session.execute(
            select(CashOperation)
            .where(CashOperation.id == wanted)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def _expire_if_due(session: Any, op: CashOperation) -> None:
    now = clock_of(session).now()
    if op.status == "pending" and now >= op.expires_at:
        await session.execute(
            update(CashOperation)
            .where(CashOperation.id == op.id, CashOperation.status == "pending")
            .values(status="expired", decided_at=now)
        )
        await session.refresh(op)


async def for_customer(
    session: Any, user: User, op_id: str
) -> tuple[CashOperation, CashAgent, Merchant]:
    op = await _get(session, op_id)
    if op is None or op.user_id != user.id:
        raise RequestNotFound()
    await _expire_if_due(session, op)
    agent = await session.get(CashAgent, op.agent_id)
    merchant = await session.get(Merchant, op.agent_id)
    assert agent is not None
    assert merchant is not None
    return op, agent, merchant


async def waiting(session: Any, user: User) -> list[tuple[CashOperation, Merchant]]:
    """The requests waiting for this customer's answer (not yet expired)."""
    now = clock_of(session).now()
    rows = await session.execute(
        select(CashOperation, Merchant)
        .join(Merchant, Merchant.id == CashOperation.agent_id)
        .where(
            CashOperation.user_id == user.id,
            CashOperation.status == "pending",
            CashOperation.expires_at > now,
        )
        .order_by(CashOperation.created_at.desc())
    )
    return [(op, m) for op, m in rows.all()]


async def decline(session: Any, user: User, op_id: str) -> CashOperation:
    op = await _locked(session, op_id)
    if op is None or op.user_id != user.id:
        raise RequestNotFound()
    if op.status != "pending":
        raise RequestClosed()
    op.status, op.decided_at = "declined", clock_of(session).now()
    await session.flush()
    return op


async def confirm(
    session: Any, ctx: IdentityContext, user: User, op_id: str, pin: str
) -> CashOperation:
    """The customer confirms with the PIN: one ledger entry (the commission its own leg), the
    wallet row, the request closed — once. A refusal changes no balance."""
    op = await _get(session, op_id)
    if op is None or op.user_id != user.id:
        raise RequestNotFound()
    await identity_pin.verify_pin_in_transaction(session, ctx, user, pin)
    op = await _locked(session, op.id)
    assert op is not None
    if op.status == "completed":
        return op  # a second tap: it is done
    if op.status != "pending":
        raise RequestClosed()
    now = clock_of(session).now()
    if now >= op.expires_at:
        raise RequestExpired()
    agent = await session.get(CashAgent, op.agent_id)
    merchant = await session.get(Merchant, op.agent_id)
    assert agent is not None
    assert merchant is not None
    if merchant.status != "active":
        raise MerchantNotActive()
    if agent.status != "active":
        raise AgentPaused()
    amount = Money(op.amount, op.currency)
    _check_identity(ctx.settings, user, op.kind, amount, op.id_checked)
    await limits.enforce(session, user, CHANNEL[op.kind], amount)
    wallet = await wallet_account(session, user.id, op.currency)
    ledger = await Ledger.of_session(session)
    paid_from = await ledger_accounts.system_account_id(
        ledger.conn, "equity", op.currency, "agent-commission"
    )
    if op.kind == "cash_in":
        legs = [
            Leg(agent.float_account_id, -(op.amount - op.commission), op.currency),
            Leg(wallet.id, op.amount, op.currency),
        ]
    else:
        legs = [
            Leg(wallet.id, -op.amount, op.currency),
            Leg(agent.float_account_id, op.amount + op.commission, op.currency),
        ]
    if op.commission:
        legs.append(Leg(paid_from, -op.commission, op.currency))
    try:
        entry = await ledger.post(
            PostEntry(
                key=f"cash:{op.id}",
                legs=tuple(legs),
                entry_type=op.kind,
                metadata={"cash_operation": str(op.id), "agent": str(merchant.id)},
            )
        )
    except InsufficientFunds:
        if op.kind == "cash_in":
            raise FloatInsufficient() from None
        raise
    balance = next(p.balance_after for p in entry.postings if p.account_id == wallet.id)
    row = WalletTransaction(
        id=uuid7(),
        user_id=user.id,
        account_id=wallet.id,
        kind="topup" if op.kind == "cash_in" else "withdrawal",
        direction="in" if op.kind == "cash_in" else "out",
        status="completed",
        currency=op.currency,
        amount=op.amount,
        fee=0,
        balance_after=balance,
        counterparty_name=merchant.name_zh,
        reference=op.reference,
        entry_id=entry.entry_id,
        details={
            "method": "cash",
            "cash_operation": str(op.id),
            "agent_code": merchant.code,
            "merchant_name_en": merchant.name_en,
            "district": agent.district_zh,
            "district_en": agent.district_en,
        },
        created_at=now,
        listed_at=now,
    )
    session.add(row)
    op.status, op.decided_at = "completed", now
    op.entry_id, op.transaction_id = entry.entry_id, row.id
    await session.flush()
    await inbox.add(
        session,
        user_id=user.id,
        template="cash.completed_in" if op.kind == "cash_in" else "cash.completed_out",
        params={
            "amount": amount.text(),
            "agent": merchant.name_zh,
            "agent_en": merchant.name_en,
            "balance": Money(balance, op.currency).text(),
        },
        link=f"/wallet/tx/{row.id}",
        dedup_key=f"cash:{op.id}:done",
    )
    return op
