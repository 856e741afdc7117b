"""The customer context an agent sees next to a conversation: who the customer is (a signed-up
customer or a visitor known only by an e-mail address), KYC tier, frozen state, balances, the last
20 transactions, open tickets and recent security events. Every read is audited."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from qianbao.identity import security
from qianbao.identity.errors import InvalidPhoneNumber
from qianbao.identity.models import User
from qianbao.identity.phones import mask_phone, normalize_phone
from qianbao.support.console import audit
from qianbao.support.console.access import require_staff
from qianbao.support.console.errors import CustomerNotFound
from qianbao.support.tickets import service as tickets
from qianbao.support.tickets.errors import TicketNotFound
from qianbao.support.tickets.repository import OPEN_STATUSES
from qianbao.wallet import cards as bank_cards
from qianbao.wallet.accounts import Balance, balances
from qianbao.wallet.history import Filters, list_transactions

TICKET_REF = re.compile(r"^T\d{8}-\d{6}$")
RECENT_TRANSACTIONS = 20
RECENT_SECURITY_EVENTS = 10


@dataclass
class CustomerContext:
    user_id: uuid.UUID
    verified: bool  # a signed-up customer whose phone number was verified by SMS (not a visitor)
    name: str | None
    phone_masked: str
    email_verified: bool
    kyc_tier: int
    frozen: bool
    frozen_reason: str | None
    frozen_at: Any
    role: str
    created_at: Any
    balances: list[Balance] = field(default_factory=list)
    transactions: list[Any] = field(default_factory=list)
    open_tickets: list[Any] = field(default_factory=list)
    security_events: list[Any] = field(default_factory=list)
    cards: list[BoundCard] = field(default_factory=list)


@dataclass(frozen=True)
class BoundCard:
    """A bound card or bank account as agents see it: never the number."""

    kind: str  # card | iban
    brand: str | None  # UnionPay, Visa, … (from the number's prefix, read when bound)
    last4: str
    bank_name: str
    status: str  # active | removed
    is_default: bool
    bound_at: Any
    removed_at: Any

    @property
    def masked(self) -> str:
        return f"•••• {self.last4}"


async def customer(session: Any, user_id: uuid.UUID | str) -> User:
    try:
        ident = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except ValueError:
        raise CustomerNotFound() from None
    user = await session.get(User, ident)
    if user is None:
        raise CustomerNotFound()
    return user


async def customer_context(
    session: Any,
    staff: Any,
    user_id: uuid.UUID | str,
    *,
    ip: str | None = None,
    settings: Any = None,
) -> CustomerContext:
    """Everything an agent needs about one customer; the read goes to the audit log. Bound
    cards are masked; with ``settings`` (the data keys) their scheme is named too."""
    require_staff(staff)
    user = await customer(session, user_id)
    ctx = CustomerContext(
        user_id=user.id,
        verified=True,  # an account exists only after its phone number was confirmed by SMS
        name=user.real_name,
        phone_masked=mask_phone(user.phone),
        email_verified=user.email_verified_at is not None,
        kyc_tier=user.kyc_tier,
        frozen=user.frozen_at is not None,
        frozen_reason=user.frozen_reason,
        frozen_at=user.frozen_at,
        role=user.role,
        created_at=user.created_at,
    )
    ctx.balances = await balances(session, user.id)
    page = await list_transactions(session, user.id, Filters(), limit=RECENT_TRANSACTIONS)
    ctx.transactions = page.rows
    ctx.open_tickets = [
        t for t in await tickets.my_tickets(session, user.id) if t.status in OPEN_STATUSES
    ]
    ctx.security_events = await security.recent_events(
        session, user.id, limit=RECENT_SECURITY_EVENTS
    )
    ctx.cards = [
        BoundCard(
            kind=c.kind,
            brand=bank_cards.brand(settings, c) if settings is not None else None,
            last4=c.last4,
            bank_name=c.bank_name,
            status=c.status,
            is_default=c.is_default,
            bound_at=c.created_at,
            removed_at=c.removed_at,
        )
        for c in await bank_cards.of_customer_for_staff(session, user.id)
    ]
    await audit.record(
        session,
        staff,
        "customer.viewed",
        subject_user_id=user.id,
        obj=("user", user.id),
        ip=ip,
        details={
            "transactions": len(ctx.transactions),
            "tickets": len(ctx.open_tickets),
            "cards": len(ctx.cards),
        },
    )
    return ctx


@dataclass(frozen=True)
class Found:
    user_id: uuid.UUID | None  # None: a visitor known only by the e-mail address of a ticket
    name: str | None
    phone_masked: str | None
    ticket_reference: str | None = None
    email: str | None = None


def _found(user: User, ticket_reference: str | None = None) -> Found:
    return Found(user.id, user.real_name, mask_phone(user.phone), ticket_reference)


async def find(
    session: Any, staff: Any, q: str, *, region: str = "CN", ip: str | None = None
) -> list[Found]:
    """A customer by phone number, user id or ticket reference. The search is audited (what
    kind of key was used and what it found, not the key itself)."""
    require_staff(staff)
    q = (q or "").strip()[:64]
    if not q:
        return []
    found: list[Found] = []
    kind = "unknown"
    if TICKET_REF.match(q.upper()):
        kind = "ticket"
        try:
            ticket = await tickets.any_ticket(session, q.upper())
        except TicketNotFound:
            ticket = None
        if ticket is not None and ticket.user_id is not None:
            user = await session.get(User, ticket.user_id)
            if user is not None:
                found.append(_found(user, ticket.reference))
        elif ticket is not None:
            found.append(Found(None, None, None, ticket.reference, ticket.requester_email))
    else:
        try:
            ident = uuid.UUID(q)
            kind = "user_id"
            user = await session.get(User, ident)
            if user is not None:
                found.append(_found(user))
        except ValueError:
            try:
                phone = normalize_phone(q, region)
                kind = "phone"
            except InvalidPhoneNumber:
                phone = None
            if phone is not None:
                from qianbao.identity.accounts import by_phone

                user = await by_phone(session, phone)
                if user is not None:
                    found.append(_found(user))
    await audit.record(
        session,
        staff,
        "customer.searched",
        subject_user_id=found[0].user_id if len(found) == 1 else None,
        ip=ip,
        details={"by": kind, "results": len(found)},
    )
    return found
