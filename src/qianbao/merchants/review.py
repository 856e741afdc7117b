"""What the operators' console needs around onboarding and promo codes: check an application
before the slow work (the password hash) and the SMS code, find merchants (pending review first),
list a merchant's staff with their roles, read its balance without opening an account, and turn
an operator's promo form (decimal strings, local times) into a ``promo.Definition``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select

from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.errors import DomainError
from qianbao.kernel.i18n import N_, Message
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.merchants import onboarding, promo
from qianbao.merchants.accounts import CURRENCY, MerchantBalance
from qianbao.merchants.errors import MerchantError, PromoDefinitionInvalid
from qianbao.merchants.models import Merchant, MerchantStaff
from qianbao.wallet.banks import recognise_card, recognise_iban
from qianbao.wallet.errors import CardNumberInvalid

STATUSES = ("pending_review", "active", "suspended", "rejected", "closed")
# The operator's verbs for each target status (the console's buttons).
ACTIONS = {"active": "activate", "rejected": "reject", "suspended": "suspend", "closed": "close"}


class PromoFieldInvalid(MerchantError):
    code = "merchants.promo_field_invalid"
    message = N_("Check the field “{field}”: {reason}")


class ReasonRequired(MerchantError):
    code = "merchants.reason_required"
    message = N_("Give a reason (at least 5 characters): it is kept in the audit log.")


def check_application(app: onboarding.Application) -> onboarding.Application:
    """The form's refusals (names, category, USCC check digit, holder, bank account number),
    with no database: ``onboarding.apply`` checks the same again."""
    checked = onboarding._checked(app)
    if (
        recognise_card(checked.settlement_number) or recognise_iban(checked.settlement_number)
    ) is None:
        raise CardNumberInvalid()
    return checked


def reason_of(text: str | None) -> str:
    reason = " ".join((text or "").split())
    if len(reason) < 5:
        raise ReasonRequired()
    return reason[:300]


async def find(
    session: Any, *, status: str | None = None, q: str | None = None, limit: int = 100
) -> list[Merchant]:
    """Merchants by status and by a piece of their name, code or USCC; those waiting for review
    first, then the newest."""
    query = select(Merchant)
    if status in STATUSES:
        query = query.where(Merchant.status == status)
    text = " ".join((q or "").split())[:64]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Merchant.name_zh.ilike(like, escape="\\"),
                Merchant.name_en.ilike(like, escape="\\"),
                Merchant.code == text.upper(),
                Merchant.uscc == text.upper(),
            )
        )
    pending_first = case((Merchant.status == "pending_review", 0), else_=1)
    query = query.order_by(pending_first, Merchant.created_at.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class StaffMember:
    user: User
    role: str  # owner | staff


async def staff_with_roles(session: Any, merchant_id: uuid.UUID) -> list[StaffMember]:
    rows = await session.execute(
        select(User, MerchantStaff.role)
        .join(MerchantStaff, MerchantStaff.user_id == User.id)
        .where(MerchantStaff.merchant_id == merchant_id)
        .order_by(MerchantStaff.created_at)
    )
    return [StaffMember(user, role) for user, role in rows.all()]


async def balance_if_open(
    session: Any, merchant_id: uuid.UUID, currency: str = CURRENCY
) -> MerchantBalance | None:
    """The merchant's balance, or None while it has no account yet (reading never opens one)."""
    ledger = await Ledger.of_session(session)
    account = await ledger_accounts.account_by_key(
        ledger.conn, f"merchant:{merchant_id}:{currency}"
    )
    if account is None:
        return None
    return MerchantBalance(currency, account.available, account.pending_out, account.posted)


# -- promo codes from the operator's form ---------------------------------------------------------
FIELD_NAMES = {
    "value": N_("Discount"),
    "min_spend": N_("Minimum spend"),
    "max_discount": N_("Largest discount"),
    "budget": N_("Total budget"),
    "valid_from": N_("Valid from"),
    "valid_until": N_("Valid until"),
    "merchant": N_("Only for the merchant (code)"),
}


def _amount(values: dict[str, str], name: str, currency: str, *, optional: bool = False) -> int:
    """One amount field through the money parser (ASCII digits only: full-width digits, signs,
    separators and exponents are refused)."""
    text = (values.get(name) or "").strip()
    if optional and not text:
        return 0
    try:
        return Money.parse(text, currency).minor
    except DomainError as exc:
        raise PromoFieldInvalid(
            field=Message(FIELD_NAMES[name]), reason=Message(exc.message), **exc.params
        ) from None


def _basis_points(values: dict[str, str]) -> int:
    """A percentage with at most two decimals ("12.5") in basis points (1250): the money
    parser's rules, with the exponent of a two-decimal currency."""
    text = (values.get("value") or "").strip()
    try:
        return Money.parse(text, "CNY").minor
    except DomainError as exc:
        reason = N_("give a percentage such as 10 or 12.5 (at most two decimals).")
        raise PromoFieldInvalid(
            field=Message(FIELD_NAMES["value"]), reason=Message(reason)
        ) from exc


def _local_time(values: dict[str, str], name: str) -> datetime:
    """A ``datetime-local`` field ("2026-11-23T09:00"), read in China Standard Time."""
    text = (values.get(name) or "").strip()
    try:
        if not text.isascii():
            raise ValueError(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PromoFieldInvalid(
            field=Message(FIELD_NAMES[name]),
            reason=Message(N_("give a date and time such as 2026-11-23 09:00.")),
        ) from None
    return parsed.replace(tzinfo=LOCAL_TZ) if parsed.tzinfo is None else parsed


async def promo_definition(session: Any, values: dict[str, str]) -> promo.Definition:
    """The operator's form as a promo ``Definition`` (``promo.create`` checks its rules)."""
    currency = (values.get("currency") or CURRENCY).strip().upper()
    kind = values.get("kind") if values.get("kind") in ("fixed", "percent") else ""
    if not kind:
        raise PromoDefinitionInvalid(reason=N_("choose a fixed amount or a percentage."))
    value = _basis_points(values) if kind == "percent" else _amount(values, "value", currency)
    max_discount = _amount(values, "max_discount", currency, optional=True) or None
    merchant_id = None
    if (values.get("merchant") or "").strip():
        try:
            merchant_id = (await onboarding.by_code(session, values["merchant"].strip())).id
        except DomainError as exc:
            raise PromoFieldInvalid(
                field=Message(FIELD_NAMES["merchant"]), reason=Message(exc.message)
            ) from None
    return promo.Definition(
        code=values.get("code", ""),
        kind=kind,
        value=value,
        currency=currency,
        min_spend=_amount(values, "min_spend", currency, optional=True),
        max_discount=max_discount if kind == "percent" else None,
        once_per_user=values.get("once_per_user") == "1",
        budget=_amount(values, "budget", currency),
        merchant_id=merchant_id,
        valid_from=_local_time(values, "valid_from"),
        valid_until=_local_time(values, "valid_until"),
        description=(values.get("description") or "").strip()[:200] or None,
    )
