"""Merchant accounts (F1): a business applies (name in both languages, category, Unified Social
Credit Code, settlement account, and its first staff member's sign-in), an operator reviews it
(active, rejected), and may later suspend, reactivate or close it."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from stdnum.cn import uscc as uscc_number

from qianbao.identity import otp
from qianbao.identity.context import IdentityContext
from qianbao.identity.errors import PhoneTaken
from qianbao.identity.models import User
from qianbao.identity.passwords import check_password
from qianbao.identity.phones import normalize_phone
from qianbao.kernel.clock import clock_of
from qianbao.kernel.crypto import Sealer
from qianbao.kernel.ids import uuid7
from qianbao.kernel.outbox import emit
from qianbao.kernel.text import plain_text
from qianbao.merchants.accounts import open_accounts
from qianbao.merchants.categories import CATEGORIES
from qianbao.merchants.errors import (
    CategoryInvalid,
    MerchantNotFound,
    NameInvalid,
    NotMerchantStaff,
    StatusChangeRefused,
    UsccInvalid,
    UsccTaken,
)
from qianbao.merchants.models import Merchant, MerchantStaff
from qianbao.wallet.banks import recognise_card, recognise_iban
from qianbao.wallet.errors import CardNumberInvalid

SEALER_PURPOSE = "merchant-settlement-accounts"
FINGERPRINT_PURPOSE = "merchant-settlement-account"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off a sticker

# Which status may follow which (an operator's decision, or the review).
STATUS_TOPIC = "merchants.status_changed"
TRANSITIONS = {
    "pending_review": {"active", "rejected"},
    "active": {"suspended", "closed"},
    "suspended": {"active", "closed"},
    "rejected": set(),
    "closed": set(),
}


@dataclass(frozen=True)
class Application:
    name_zh: str
    name_en: str
    category: str
    uscc: str
    settlement_number: str
    settlement_holder: str
    website: str | None = None


def sealer(settings: Any) -> Sealer:
    return Sealer.for_purpose(settings.data_key_bytes(), SEALER_PURPOSE)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def _checked(app: Application) -> Application:
    name_zh = plain_text(app.name_zh).strip()
    name_en = plain_text(app.name_en).strip()
    if not (0 < len(name_zh) <= 100 and 0 < len(name_en) <= 100):
        raise NameInvalid()
    if app.category not in CATEGORIES:
        raise CategoryInvalid()
    code = uscc_number.compact(app.uscc or "").upper()
    if not code.isascii() or not uscc_number.is_valid(code):
        raise UsccInvalid()
    holder = " ".join((app.settlement_holder or "").split())[:100]
    if not holder:
        raise NameInvalid()
    website = (app.website or "").strip()[:200] or None
    return Application(name_zh, name_en, app.category, code, app.settlement_number, holder, website)


async def create(
    session: Any, ctx: IdentityContext, app: Application, *, status: str = "pending_review"
) -> Merchant:
    """A merchant with its settlement account sealed; ``status`` other than pending review is
    for the demo data and tests."""
    app = _checked(app)
    recognised = recognise_card(app.settlement_number) or recognise_iban(app.settlement_number)
    if recognised is None:
        raise CardNumberInvalid()
    merchant_id = uuid7()
    merchant = Merchant(
        id=merchant_id,
        code=new_code(),
        name_zh=app.name_zh,
        name_en=app.name_en,
        category=app.category,
        uscc=app.uscc,
        website=app.website,
        status=status,
        settlement_kind=recognised.kind,
        settlement_number_sealed=sealer(ctx.settings).seal(
            recognised.number.encode(), aad=str(merchant_id).encode()
        ),
        settlement_fingerprint=ctx.keyed_hash(FINGERPRINT_PURPOSE, recognised.number),
        settlement_last4=recognised.last4,
        settlement_bank_name=recognised.bank_name[:120],
        settlement_holder=app.settlement_holder,
        fee_plan=default_fee_plan(ctx.settings),
        created_at=clock_of(session).now(),
    )
    session.add(merchant)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise UsccTaken() from exc
    await open_accounts(session, merchant_id)
    return merchant


def default_fee_plan(settings: Any) -> dict[str, Any]:
    return {m: rule.model_dump() for m, rule in settings.merchants.fee_plan.items()}


async def apply(
    session: Any,
    ctx: IdentityContext,
    app: Application,
    *,
    phone_raw: str,
    code: str,
    contact_name: str,
    password: str,
    password_hash: str,
) -> tuple[Merchant, User]:
    """A business applies: its merchant (pending review) and its owner's staff sign-in, whose
    phone is confirmed by the sign-up code. ``password_hash`` is made by the caller before the
    request touches the database (hashing is slow work; no pooled connection waits on it)."""
    phone = normalize_phone(phone_raw, ctx.settings.identity.default_region)
    name = plain_text(contact_name).strip()[:100] or None
    check_password(password, phone=phone, name=name)
    _checked(app)  # refuse a bad form before using up the code
    await otp.check_code(session, ctx, destination=phone, purpose="sign_up", code=code)
    exists = (await session.execute(select(User.id).where(User.phone == phone))).first()
    if exists is not None:
        raise PhoneTaken()
    merchant = await create(session, ctx, app)
    user = User(
        phone=phone,
        password_hash=password_hash,
        role="merchant_staff",
        real_name=name,
        created_at=ctx.clock.now(),
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise PhoneTaken() from exc
    session.add(MerchantStaff(user_id=user.id, merchant_id=merchant.id, role="owner"))
    await session.flush()
    return merchant, user


async def add_staff(session: Any, merchant: Merchant, user: User, role: str = "staff") -> None:
    session.add(MerchantStaff(user_id=user.id, merchant_id=merchant.id, role=role))
    await session.flush()


async def get(session: Any, merchant_id: uuid.UUID | str) -> Merchant:
    try:
        key = merchant_id if isinstance(merchant_id, uuid.UUID) else uuid.UUID(str(merchant_id))
    except ValueError:
        raise MerchantNotFound() from None
    merchant = await session.get(Merchant, key)
    if merchant is None:
        raise MerchantNotFound()
    return merchant


async def by_code(session: Any, code: str) -> Merchant:
    found = (
        await session.execute(select(Merchant).where(Merchant.code == (code or "").upper()[:16]))
    ).scalar_one_or_none()
    if found is None:
        raise MerchantNotFound()
    return found


async def of_staff(session: Any, user: User) -> Merchant:
    """The merchant a ``merchant_staff`` user works for."""
    if user.role != "merchant_staff":
        raise NotMerchantStaff()
    row = (
        await session.execute(
            select(Merchant)
            .join(MerchantStaff, MerchantStaff.merchant_id == Merchant.id)
            .where(MerchantStaff.user_id == user.id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotMerchantStaff()
    return row


async def staff_of(session: Any, merchant_id: uuid.UUID) -> list[User]:
    return list(
        (
            await session.execute(
                select(User)
                .join(MerchantStaff, MerchantStaff.user_id == User.id)
                .where(MerchantStaff.merchant_id == merchant_id)
                .order_by(MerchantStaff.created_at)
            )
        ).scalars()
    )


async def list_merchants(
    session: Any, *, status: str | None = None, limit: int = 100
) -> list[Merchant]:
    query = select(Merchant).order_by(Merchant.created_at.desc()).limit(limit)
    if status:
        query = query.where(Merchant.status == status)
    return list((await session.execute(query)).scalars())


async def set_status(
    session: Any, merchant: Merchant, new: str, *, by: User, reason: str | None = None
) -> Merchant:
    """An operator's decision: activate (after review, or again after a suspension), reject,
    suspend, close. A suspended or closed merchant takes no payments; refunds of what it was
    paid still go through while it is suspended (customers are owed them)."""
    if new not in TRANSITIONS.get(merchant.status, set()):
        raise StatusChangeRefused(old=merchant.status, new=new)
    merchant.status = new
    merchant.status_reason = (plain_text(reason or "").strip()[:300]) or None
    merchant.reviewed_at = clock_of(session).now()
    merchant.reviewed_by = by.id
    await session.flush()
    if new == "active":  # a merchant created before its accounts were spread gets them now
        await open_accounts(session, merchant.id)
    # Its staff are told (merchants.notices), after the decision commits.
    await emit(session, STATUS_TOPIC, {"merchant_id": str(merchant.id), "status": new})
    return merchant


def reveal_settlement_number(settings: Any, merchant: Merchant) -> str:
    return (
        sealer(settings)
        .open(merchant.settlement_number_sealed, aad=str(merchant.id).encode())
        .decode()
    )
