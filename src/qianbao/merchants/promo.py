"""Promo codes (B11): an operator's discount — fixed or a percentage, a minimum spend, once per
customer or not, a total budget, a validity window, optionally for one merchant. The customer
pays less; the discount is its own ledger leg from the operator's marketing account, so the
merchant is paid the full price. The budget is spent atomically: under any number of concurrent
payments the codes never spend more than it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.kernel.text import plain_text
from qianbao.merchants.errors import PromoCodeInvalid, PromoCodeTaken, PromoDefinitionInvalid
from qianbao.merchants.models_payments import PromoCode, PromoRedemption

CODE_RE = re.compile(r"[A-Z0-9]{4,32}")
WHY = {
    "unknown": N_("there is no such code."),
    "not_yet": N_("it is not valid yet."),
    "ended": N_("it has ended."),
    "disabled": N_("it has been switched off."),
    "other_merchant": N_("it is not for this shop."),
    "min_spend": N_("it needs a spend of at least {min_spend}."),
    "used": N_("you have already used it."),
    "budget": N_("its budget has been used up."),
    "currency": N_("it is for another currency."),
}


@dataclass(frozen=True)
class Definition:
    code: str
    kind: str  # fixed | percent
    value: int  # minor units, or basis points
    currency: str
    min_spend: int
    max_discount: int | None
    once_per_user: bool
    budget: int
    merchant_id: uuid.UUID | None
    valid_from: datetime
    valid_until: datetime
    description: str | None = None


def normalize(code: str | None) -> str:
    return "".join((code or "").split()).upper()


def discount_for(promo: PromoCode, amount: int) -> int:
    """The discount on an order of ``amount`` (the customer always pays at least one cent)."""
    if promo.kind == "fixed":
        discount = promo.value
    else:
        discount = amount * promo.value // 10_000
        if promo.max_discount is not None:
            discount = min(discount, promo.max_discount)
    return max(0, min(discount, amount - 1))


async def create(session: Any, d: Definition, *, by: uuid.UUID | None) -> PromoCode:
    code = normalize(d.code)
    if not CODE_RE.fullmatch(code):
        raise PromoDefinitionInvalid(reason=N_("the code is 4 to 32 letters and digits."))
    if (
        d.kind not in ("fixed", "percent")
        or d.value <= 0
        or (d.kind == "percent" and d.value > 10_000)
    ):
        raise PromoDefinitionInvalid(reason=N_("the discount must be above zero (at most 100 %)."))
    if d.budget <= 0 or d.min_spend < 0 or (d.max_discount is not None and d.max_discount <= 0):
        raise PromoDefinitionInvalid(reason=N_("the budget must be above zero."))
    if d.valid_until <= d.valid_from:
        raise PromoDefinitionInvalid(reason=N_("it must end after it starts."))
    promo = PromoCode(
        code=code,
        kind=d.kind,
        value=d.value,
        currency=d.currency,
        min_spend=d.min_spend,
        max_discount=d.max_discount,
        once_per_user=d.once_per_user,
        budget=d.budget,
        merchant_id=d.merchant_id,
        valid_from=d.valid_from,
        valid_until=d.valid_until,
        description=plain_text(d.description or "")[:200] or None,
        created_by=by,
        created_at=clock_of(session).now(),
    )
    session.add(promo)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise PromoCodeTaken() from exc
    return promo


async def list_promos(session: Any, limit: int = 200) -> list[PromoCode]:
    return list(
        (
            await session.execute(
                select(PromoCode).order_by(PromoCode.created_at.desc()).limit(limit)
            )
        ).scalars()
    )


async def set_enabled(session: Any, promo_id: str, enabled: bool) -> PromoCode:
    try:
        promo = await session.get(PromoCode, uuid.UUID(str(promo_id)))
    except ValueError:
        promo = None
    if promo is None:
        raise PromoCodeInvalid(reason=WHY["unknown"])
    promo.status = "active" if enabled else "disabled"
    await session.flush()
    return promo


def _refuse(why: str, **params: Any) -> PromoCodeInvalid:
    return PromoCodeInvalid(reason=WHY[why], **params)


async def check(
    session: Any,
    code: str,
    *,
    user_id: uuid.UUID,
    merchant_id: uuid.UUID,
    amount: int,
    currency: str,
) -> tuple[PromoCode, int]:
    """The promo and its discount on this order, or why not (no lock: for showing)."""
    promo = (
        await session.execute(select(PromoCode).where(PromoCode.code == normalize(code)))
    ).scalar_one_or_none()
    now = clock_of(session).now()
    if promo is None:
        raise _refuse("unknown")
    if promo.status != "active":
        raise _refuse("disabled")
    if now < promo.valid_from:
        raise _refuse("not_yet")
    if now >= promo.valid_until:
        raise _refuse("ended")
    if promo.merchant_id is not None and promo.merchant_id != merchant_id:
        raise _refuse("other_merchant")
    if promo.currency != currency:
        raise _refuse("currency")
    if amount < promo.min_spend:
        raise _refuse("min_spend", min_spend=Money(promo.min_spend, currency))
    if promo.once_per_user and await _used(session, promo.id, user_id):
        raise _refuse("used")
    discount = discount_for(promo, amount)
    if discount <= 0 or promo.spent + discount > promo.budget:
        raise _refuse("budget")
    return promo, discount


async def _used(session: Any, promo_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.execute(
        select(PromoRedemption.id)
        .where(PromoRedemption.promo_code_id == promo_id, PromoRedemption.user_id == user_id)
        .limit(1)
    )
    return found.first() is not None


async def redeem(
    session: Any,
    code: str,
    *,
    user_id: uuid.UUID,
    merchant_id: uuid.UUID,
    amount: int,
    currency: str,
    payment_id: uuid.UUID,
) -> tuple[PromoCode, int]:
    """Spend the discount from the budget for this payment, in the payment's transaction. The
    budget is taken by one conditional UPDATE (which also locks the code's row until the
    transaction ends), so concurrent payments are judged one after the other: once per
    customer and the budget hold under any race."""
    promo, discount = await check(
        session, code, user_id=user_id, merchant_id=merchant_id, amount=amount, currency=currency
    )
    taken = await session.execute(
        update(PromoCode)
        .where(
            PromoCode.id == promo.id,
            PromoCode.status == "active",
            PromoCode.spent + discount <= PromoCode.budget,
        )
        .values(spent=PromoCode.spent + discount)
        .returning(PromoCode.spent)
    )
    if taken.first() is None:
        raise _refuse("budget")
    # Read again now that the row is locked: a concurrent redemption by the same customer has
    # committed (READ COMMITTED: this statement sees it).
    if promo.once_per_user and await _used(session, promo.id, user_id):
        raise _refuse("used")
    session.add(
        PromoRedemption(
            promo_code_id=promo.id,
            user_id=user_id,
            payment_id=payment_id,
            discount=discount,
            created_at=clock_of(session).now(),
        )
    )
    return promo, discount
