"""Top-up from a bound card (B2) through the card acquirer (qianbao.rails), or by Alipay or
WeChat Pay (B4, ``wallet.topup_methods``: no card, each method's own range and fee, paid on top).

1. ``start``: the user picks a card and an amount and confirms with the PIN; limits are checked
   (pending top-ups count); a pending wallet row and a top-up are written, and the acquirer
   registers the payment and returns its hosted confirmation URL. Our own addresses go to the
   acquirer as paths (with ``site``, the public URL or the request's origin, for a provider that
   needs absolute ones): nothing absolute is baked in from a setting's default.
2. The user confirms at the provider; the provider posts a signed callback.
3. ``settle``: only a verified callback moves money — bank clearing → the user's wallet, one
   ledger entry with the key ``topup:<id>`` — and a repeated callback changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from qianbao.identity import pin as identity_pin
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.errors import IdempotencyKeyReused
from qianbao.kernel.logging import get_logger
from qianbao.kernel.money import Money
from qianbao.kernel.outbox import emit
from qianbao.ledger import Ledger
from qianbao.ledger.accounts import system_account_id
from qianbao.ledger.commands import check_key
from qianbao.ledger.errors import AccountClosed, AccountFrozen
from qianbao.rails import CallbackRejected, CardAcquirer, CardPaymentEvent, CardPaymentRequest
from qianbao.wallet import cards, limits, topup_methods
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.banks import mask
from qianbao.wallet.errors import TopupCardRequired, TopupNotFound
from qianbao.wallet.models import Topup, WalletTransaction
from qianbao.wallet.transfer import new_reference

log = get_logger(__name__)

NOTIFY_TOPIC = "wallet.transaction_updated"


def _fingerprint(method: str, card_id: str | None, amount: Money) -> str:
    head = str(card_id) if method == "card" else method  # a card's as before B4
    return hashlib.sha256(f"{head}|{amount.minor}|{amount.currency}".encode()).hexdigest()


async def _replay(session: Any, user_id: uuid.UUID, key: str, fingerprint: str) -> Topup | None:
    """The top-up already made under ``key``; the same key with another request is refused."""
    existing = (
        await session.execute(
            select(Topup).where(Topup.user_id == user_id, Topup.idempotency_key == key)
        )
    ).scalar_one_or_none()
    if existing is not None and existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return existing


async def start(
    session: Any,
    ctx: IdentityContext,
    acquirer: CardAcquirer,
    user: User,
    *,
    card_id: str | None,
    amount: Money,
    pin: str,
    key: str,
    site: str | None = None,
    method: str = "card",
    client_ip: str | None = None,
) -> tuple[Topup, bool]:
    """Create the top-up and register it with the acquirer; returns (top-up, replayed).
    ``acquirer``: the one of ``method`` (``rails.factory.Acquirers.for_method``).
    ``site``: the absolute base of this deployment for the request at hand
    (``settings.http.site_url(request origin)``), for providers that need absolute URLs;
    without a request (the demo data), ``settings.http.base_url``. ``client_ip``: the user's
    address (WeChat Pay H5 wants it)."""
    check_key(key)
    fingerprint = _fingerprint(method, card_id, amount)
    replay = await _replay(session, user.id, key, fingerprint)  # answered at once, no lock
    if replay is not None:
        return replay, True
    offer = await topup_methods.offer(session, ctx.settings, method)
    if method == "card" and not card_id:
        raise TopupCardRequired()
    offer.check(amount)
    # The PIN before any lock: a wrong try is counted on the side pool, and nobody waits for
    # this user's lock while its holder waits for a connection (issue 13, defect 1).
    await identity_pin.verify_pin(session, ctx, user.id, pin)
    await lock_for_transaction(session, f"topup:{user.id}")
    replay = await _replay(session, user.id, key, fingerprint)  # a twin that got the lock first
    if replay is not None:
        return replay, True
    card = await cards.get_card(session, user.id, card_id) if card_id and method == "card" else None
    await limits.enforce(session, user, "topup", amount)
    account = await wallet_account(session, user.id, amount.currency)
    if account.status in ("frozen", "closed"):  # the card would be charged for nothing
        raise AccountFrozen() if account.status == "frozen" else AccountClosed()
    now = clock_of(session).now()
    topup_id = uuid.uuid4()
    fee = offer.fee_for(amount.minor)
    details: dict[str, Any]
    if card is not None:
        details = {"card": mask(card.last4), "bank": card.bank_name}
    else:
        details = {"method": method, "fee": fee}  # the fee is paid on top, to the provider
    row = WalletTransaction(
        user_id=user.id,
        account_id=account.id,
        kind="topup",
        direction="in",
        status="pending",
        currency=amount.currency,
        amount=amount.minor,
        reference=new_reference(now),
        details={**details, "topup_id": str(topup_id)},
        created_at=now,
    )
    session.add(row)
    await session.flush()
    topup = Topup(
        id=topup_id,
        user_id=user.id,
        card_id=card.id if card is not None else None,
        transaction_id=row.id,
        currency=amount.currency,
        amount=amount.minor,
        fee=fee,
        provider=acquirer.name,
        idempotency_key=key,
        fingerprint=fingerprint,
        created_at=now,
    )
    session.add(topup)
    await session.flush()
    created = await acquirer.create_payment(
        session,
        CardPaymentRequest(
            reference=str(topup.id),
            amount=amount.minor + fee,  # what the provider collects
            currency=amount.currency,
            card_number=cards.reveal(ctx.settings, card) if card is not None else "",
            holder_name=card.holder_name if card is not None else "",
            description=f"Qianbao top-up {row.reference}",
            return_path=f"/wallet/topup/{topup.id}",
            notify_path=f"/api/v1/payments/{acquirer.name}/notify",
            site=site or ctx.settings.http.base_url,
            client_ip=client_ip,
            notify_site=topup_methods.notify_site(ctx.settings, method),
        ),
    )
    topup.provider_ref = created.provider_ref
    topup.confirmation_url = created.confirmation_url
    await session.flush()
    return topup, False


async def get(session: Any, user_id: uuid.UUID, topup_id: str) -> Topup:
    try:
        ident = uuid.UUID(str(topup_id))
    except ValueError:
        raise TopupNotFound() from None
    topup = (
        await session.execute(select(Topup).where(Topup.id == ident, Topup.user_id == user_id))
    ).scalar_one_or_none()
    if topup is None:
        raise TopupNotFound()
    return topup


async def settle(session: Any, provider: str, event: CardPaymentEvent) -> Topup:
    """Apply a verified callback. Idempotent: a top-up is credited at most once."""
    topup = (
        await session.execute(
            select(Topup)
            .where(Topup.provider == provider, Topup.provider_ref == event.provider_ref)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if (
        topup is None
        or event.reference != str(topup.id)
        or event.amount != topup.amount + topup.fee
        or event.currency != topup.currency
    ):
        log.warning("topup.callback_mismatch", provider_ref=event.provider_ref)
        raise CallbackRejected()
    late_success = topup.failure == "expired" and event.status == "succeeded"
    if topup.status != "pending" and not late_success:
        return topup  # already settled: a repeated callback changes nothing
    row = await session.get(WalletTransaction, topup.transaction_id, with_for_update=True)
    now = clock_of(session).now()
    if event.status == "succeeded":
        ledger = await Ledger.of_session(session)
        account = await wallet_account(session, topup.user_id, topup.currency)
        target = account.id
        try:
            entry = await ledger.post(
                await topup_methods.credit_entry(ledger.conn, topup, target, "topup")
            )
        except (AccountFrozen, AccountClosed):
            # The card was charged but the wallet cannot take money: park it (and the fee) in
            # suspense for the operator to refund (docs/operator.md), and tell the user it failed.
            target = await system_account_id(ledger.conn, "suspense", topup.currency)
            entry = await ledger.post(
                await topup_methods.credit_entry(
                    ledger.conn, topup, target, "topup_suspense", with_fee=False
                )
            )
            topup.status, topup.failure, topup.entry_id = "failed", "account_frozen", entry.entry_id
            row.status = "failed"
            row.details = {**row.details, "failure": "account_frozen"}
        else:
            topup.status, topup.failure, topup.entry_id = "succeeded", None, entry.entry_id
            row.status = "completed"
            row.entry_id = entry.entry_id
            row.balance_after = next(
                p.balance_after for p in entry.postings if p.account_id == target
            )
            row.listed_at = now  # the money arrived now: listed here, its balance follows
    else:
        topup.status, topup.failure = "failed", event.status
        row.status = "failed"
        row.details = {**row.details, "failure": event.status}
    topup.completed_at = now
    await session.flush()
    await emit(
        session,
        NOTIFY_TOPIC,
        {
            "transaction_id": str(row.id),
            "template": "wallet.topup_succeeded"
            if topup.status == "succeeded"
            else "wallet.topup_failed",
        },
    )
    return topup


async def expire_stale(session: Any, minutes: int) -> int:
    """Pending top-ups nobody confirmed in time fail as expired (a late success still counts)."""
    now = clock_of(session).now()
    cutoff = now - timedelta(minutes=minutes)
    stale = (
        await session.execute(
            select(Topup)
            .where(Topup.status == "pending", Topup.created_at < cutoff)
            .with_for_update(skip_locked=True)
            .limit(200)
        )
    ).scalars()
    count = 0
    for topup in stale:
        topup.status, topup.failure, topup.completed_at = "failed", "expired", now
        row = await session.get(WalletTransaction, topup.transaction_id)
        if row is not None:
            row.status = "failed"
            row.details = {**row.details, "failure": "expired"}
        count += 1
    await session.flush()
    return count
