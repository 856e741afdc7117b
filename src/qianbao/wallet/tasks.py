"""After a transfer commits: an in-app notification for each party and, per their preferences,
an SMS or e-mail (C4). Runs as a job from the ``wallet.transfer_completed`` outbox event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from qianbao.identity.models import User
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.notifications import inbox, outbox_sealer
from qianbao.notifications import request as request_notification
from qianbao.notifications.templates import Channel
from qianbao.wallet.models import WalletTransaction
from qianbao.worker import JobContext

TOPIC = "wallet.transfer_completed"
TASK = "wallet.notify_transfer"


def _money(minor: int | None, currency: str) -> str:
    return Money(minor or 0, currency).text()


async def notify_transfer(ctx: JobContext, payload: dict[str, Any]) -> None:
    session = ctx.session
    settings = ctx.services["settings"]
    reference = payload["reference"]
    rows = (
        await session.execute(
            select(WalletTransaction).where(
                WalletTransaction.reference.in_([reference, reference + "R"])
            )
        )
    ).scalars()
    for row in rows:
        user = await session.get(User, row.user_id)
        if user is None:
            continue
        template = "wallet.money_out" if row.direction == "out" else "wallet.money_in"
        params = {
            "amount": _money(row.amount, row.currency),
            "who": row.counterparty_name or row.counterparty_phone or "",
            "balance": _money(row.balance_after, row.currency),
            "reference": row.reference,
        }
        created = await inbox.add(
            session,
            user_id=user.id,
            template=template,
            params=params,
            link=f"/wallet/tx/{row.id}",
            dedup_key=f"tx:{row.id}",
        )
        if not created:  # a retried job: the messages went out the first time
            continue
        prefs = await inbox.preferences(session, user.id)
        if prefs.sms_money:
            await request_notification(
                session,
                channel="sms",
                to=user.phone,
                template=template,
                locale=user.locale,
                params=params,
                sealer=outbox_sealer(settings),
            )
        if prefs.email_money and user.email and user.email_verified_at is not None:
            await request_notification(
                session,
                channel="email",
                to=user.email,
                template=template,
                locale=user.locale,
                params=params,
                sealer=outbox_sealer(settings),
            )


TRANSACTION_TOPIC = "wallet.transaction_updated"
TRANSACTION_TASK = "wallet.notify_transaction"
TRANSACTION_TEMPLATES = (
    "wallet.payment_made",
    "wallet.refund_received",
    "wallet.topup_succeeded",
    "wallet.topup_failed",
    "wallet.withdrawal_settled",
    "wallet.withdrawal_failed",
    "wallet.withdrawal_rejected",
    "wallet.withdrawal_returned",
)
# Why a top-up failed, as the user reads it (translated when shown).
TOPUP_FAILURES = {
    "declined": N_("the bank declined the card"),
    "insufficient_funds": N_("the card's balance was not enough"),
    "cancelled": N_("the payment was cancelled"),
    "expired": N_("the payment was not confirmed in time"),
    "account_frozen": N_("your wallet is frozen; we will refund the card"),
}


async def notify_transaction(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A top-up or withdrawal reached a final state: tell the user (in-app, then SMS/e-mail per
    the preferences), once even if the job runs again."""
    session = ctx.session
    settings = ctx.services["settings"]
    template = payload["template"]
    if template not in TRANSACTION_TEMPLATES:
        return
    row = await session.get(WalletTransaction, uuid.UUID(payload["transaction_id"]))
    if row is None:
        return
    user = await session.get(User, row.user_id)
    if user is None:
        return
    details = row.details or {}
    reason = details.get("reason") or TOPUP_FAILURES.get(details.get("failure", ""), "")
    params = {
        "amount": _money(row.amount, row.currency),
        "fee": _money(row.fee, row.currency),
        "card": details.get("card", ""),
        "balance": _money(row.balance_after, row.currency),
        "reference": row.reference,
        "reason": reason,
        "who": row.counterparty_name or "",
    }
    created = await inbox.add(
        session,
        user_id=user.id,
        template=template,
        params=params,
        link=f"/wallet/tx/{row.id}",
        dedup_key=f"tx:{row.id}:{template}",
    )
    if not created:
        return
    prefs = await inbox.preferences(session, user.id)
    channels: list[tuple[Channel, str]] = [("sms", user.phone)] if prefs.sms_money else []
    if prefs.email_money and user.email and user.email_verified_at is not None:
        channels.append(("email", user.email))
    for channel, to in channels:
        await request_notification(
            session,
            channel=channel,
            to=to,
            template=template,
            locale=user.locale,
            params=params,
            sealer=outbox_sealer(settings),
        )
