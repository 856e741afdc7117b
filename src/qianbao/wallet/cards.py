"""Bank cards and accounts (A7): bind a debit card (Luhn, bank from the BIN) or an IBAN
(schwifty); several per user, one default; numbers sealed at rest with AES-GCM (keys from
QIANBAO_SECURITY__DATA_KEYS, rotation by listing a new key first) and shown as ``•••• 1234``;
binding asks for the payment PIN and an SMS code."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from qianbao.identity import otp, security
from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.crypto import Sealer
from qianbao.kernel.i18n import N_
from qianbao.wallet.banks import Recognised, recognise_card, recognise_iban
from qianbao.wallet.errors import (
    CardAlreadyBound,
    CardNotFound,
    CardNumberInvalid,
    HolderNameMismatch,
)
from qianbao.wallet.models import BankCard

SEALER_PURPOSE = "bank-numbers"
FINGERPRINT_PURPOSE = "bank-number"  # keyed hash under the secret keys


def sealer(settings: Any) -> Sealer:
    return Sealer.for_purpose(settings.data_key_bytes(), SEALER_PURPOSE)


async def request_bind_code(
    session: Any, ctx: IdentityContext, user: User, *, ip: str | None
) -> None:
    await otp.send_code(
        session, ctx, destination=user.phone, purpose="bind_card", ip=ip, locale=user.locale
    )


async def bind(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    number: str,
    holder_name: str,
    pin: str,
    code: str,
) -> BankCard:
    recognised = recognise_card(number) or recognise_iban(number)
    if recognised is None:
        raise CardNumberInvalid()
    holder = " ".join((holder_name or "").split())[:100]
    if not holder or (
        user.real_name
        and holder.replace(" ", "").lower() != user.real_name.replace(" ", "").lower()
    ):
        raise HolderNameMismatch()
    await identity_pin.verify_pin(session, ctx, user.id, pin)
    await otp.check_code(session, ctx, destination=user.phone, purpose="bind_card", code=code)
    card = await store(session, ctx, user, recognised, holder)
    await security.record(
        session, ctx, user, "card_added", details={"bank": card.bank_name, "last4": card.last4}
    )
    return card


async def store(
    session: Any, ctx: IdentityContext, user: User, recognised: Recognised, holder: str
) -> BankCard:
    """Seal and save a checked card (``bind`` checks first; the demo data uses it directly)."""
    if not user.real_name:
        user.real_name = holder
    has_default = (
        await session.execute(
            select(BankCard.id).where(
                BankCard.user_id == user.id, BankCard.status == "active", BankCard.is_default
            )
        )
    ).first() is not None
    # Under any listed secret key: after a key rotation the unique index alone would not see
    # a number bound before it (its fingerprint is re-made by `qianbao keys rewrap`).
    bound = await session.execute(
        select(BankCard.id).where(
            BankCard.user_id == user.id,
            BankCard.status == "active",
            BankCard.fingerprint.in_(ctx.keyed_hashes(FINGERPRINT_PURPOSE, recognised.number)),
        )
    )
    if bound.first() is not None:
        raise CardAlreadyBound()
    card = BankCard(
        user_id=user.id,
        kind=recognised.kind,
        number_sealed=sealer(ctx.settings).seal(
            recognised.number.encode(), aad=str(user.id).encode()
        ),
        fingerprint=ctx.keyed_hash(FINGERPRINT_PURPOSE, recognised.number),
        last4=recognised.last4,
        bank_name=recognised.bank_name[:120],
        country=recognised.country,
        holder_name=holder,
        is_default=not has_default,
    )
    session.add(card)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise CardAlreadyBound() from exc
    return card


async def list_cards(session: Any, user_id: uuid.UUID) -> list[BankCard]:
    rows = await session.execute(
        select(BankCard)
        .where(BankCard.user_id == user_id, BankCard.status == "active")
        .order_by(BankCard.is_default.desc(), BankCard.created_at)
    )
    return list(rows.scalars())


async def get_card(session: Any, user_id: uuid.UUID, card_id: str) -> BankCard:
    """One of the user's own active cards; anyone else's is simply not found."""
    try:
        ident = uuid.UUID(str(card_id))
    except ValueError:
        raise CardNotFound() from None
    card = (
        await session.execute(
            select(BankCard).where(
                BankCard.id == ident, BankCard.user_id == user_id, BankCard.status == "active"
            )
        )
    ).scalar_one_or_none()
    if card is None:
        raise CardNotFound()
    return card


async def make_default(session: Any, user_id: uuid.UUID, card_id: str) -> BankCard:
    card = await get_card(session, user_id, card_id)
    await session.execute(
        update(BankCard)
        .where(BankCard.user_id == user_id, BankCard.is_default)
        .values(is_default=False)
    )
    card.is_default = True
    await session.flush()
    return card


async def remove(session: Any, ctx: IdentityContext, user: User, card_id: str) -> None:
    user_id = user.id
    card = await get_card(session, user_id, card_id)
    was_default = card.is_default
    card.status = "removed"
    card.is_default = False
    card.removed_at = clock_of(session).now()
    await session.flush()
    await security.record(
        session, ctx, user, "card_removed", details={"bank": card.bank_name, "last4": card.last4}
    )
    if was_default:
        remaining = await list_cards(session, user_id)
        if remaining:
            remaining[0].is_default = True
            await session.flush()


def reveal(settings: Any, card: BankCard) -> str:
    """The full number, for the payment provider only (never for an endpoint or a page)."""
    return sealer(settings).open(card.number_sealed, aad=str(card.user_id).encode()).decode()


async def card_by_id(session: Any, card_id: uuid.UUID) -> BankCard | None:
    """A card whatever its status (a removed card still names past payouts)."""
    return await session.get(BankCard, card_id)


async def of_customer_for_staff(session: Any, user_id: uuid.UUID) -> list[BankCard]:
    """Every card the customer bound, removed ones too (the support console shows them masked:
    bank, last four digits, status, bound date — never the number)."""
    rows = await session.execute(
        select(BankCard)
        .where(BankCard.user_id == user_id)
        .order_by(BankCard.status, BankCard.is_default.desc(), BankCard.created_at.desc())
    )
    return list(rows.scalars())


def brand_of_number(number: str) -> str | None:
    """The card scheme from the number's first digits (ISO/IEC 7812 issuer ranges), as a msgid
    (UnionPay is 银联 in Chinese); None for a bank account or a range we do not name."""
    if not number.isdigit():
        return None
    if number.startswith(("62", "81")):
        return N_("UnionPay")
    if number.startswith("4"):
        return N_("Visa")
    if number[:2] in ("51", "52", "53", "54", "55") or 2221 <= int(number[:4] or 0) <= 2720:
        return N_("Mastercard")
    if number.startswith("35"):
        return N_("JCB")
    if number.startswith(("34", "37")):
        return N_("American Express")
    return None


def brand(settings: Any, card: BankCard) -> str | None:
    """The scheme of a bound card, read from the sealed number on the server (only the scheme
    leaves this function; the number is never shown or kept)."""
    if card.kind != "card":
        return None
    return brand_of_number(reveal(settings, card)[:4])
