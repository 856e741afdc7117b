"""After a transfer commits: an in-app notification for each party and, per their preferences,
an SMS or e-mail (C4). Runs as a job from the ``wallet.transfer_completed`` outbox event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from qianbao.identity.models import User
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.notifications import inbox, outbox_sealer
from qianbao.notifications import message as notification_message
from qianbao.notifications import request_many as request_notifications
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.topup_methods import LABELS as METHOD_LABELS
from qianbao.worker import JobContext

TOPIC = "wallet.transfer_completed"
TASK = "wallet.notify_transfer"


def _money(minor: int | None, currency: str) -> str:
    return Money(minor or 0, currency).text()


async def notify_transfer(ctx: JobContext, payload: dict[str, Any]) -> None:
    await notify_transfers(ctx, [(ctx.job_id, payload)])


async def notify_transfers(ctx: JobContext, jobs: list[tuple[int, dict[str, Any]]]) -> None:
    """Both parties of many transfers at once, in five statements whatever their number (the
    rows, the users, the in-app messages, the preferences, the SMS / e-mail requests): the
    worker's cost per transfer was most of the system's (issue 17)."""
    session = ctx.session
    settings = ctx.services["settings"]
    references = [
        r for _, payload in jobs for r in (payload["reference"], payload["reference"] + "R")
    ]
    rows = (
        (
            await session.execute(
                select(WalletTransaction)
                .where(WalletTransaction.reference.in_(references))
                .order_by(WalletTransaction.reference)
            )
        )
        .scalars()
        .all()
    )
    if not rows:
        return
    users = {
        u.id: u
        for u in (
            await session.execute(
                select(User).where(
                    User.id
                    == any_(
                        bindparam("users", list({r.user_id for r in rows}), type_=ARRAY(PgUUID()))
                    )
                )
            )
        ).scalars()
    }
    wanted = []
    for row in rows:
        if row.user_id not in users:
            continue
        template = "wallet.money_out" if row.direction == "out" else "wallet.money_in"
        params = {
            "amount": _money(row.amount, row.currency),
            "who": row.counterparty_name or row.counterparty_phone or "",
            "balance": _money(row.balance_after, row.currency),
            "reference": row.reference,
        }
        wanted.append((row, template, params))
    created = await inbox.add_many(
        session,
        [
            {
                "user_id": row.user_id,
                "template": template,
                "params": params,
                "link": f"/wallet/tx/{row.id}",
                "dedup_key": f"tx:{row.id}",
            }
            for row, template, params in wanted
        ],
    )
    fresh = [w for w in wanted if f"tx:{w[0].id}" in created]  # a retry: sent the first time
    prefs = await inbox.preferences_of(session, list({row.user_id for row, _, _ in fresh}))
    sealer = outbox_sealer(settings)
    messages = []
    for row, template, params in fresh:
        user, chosen = users[row.user_id], prefs[row.user_id]
        if chosen.sms_money:
            messages.append(
                notification_message(
                    channel="sms", to=user.phone, template=template, locale=user.locale,
                    params=params, sealer=sealer,
                )
            )  # fmt: skip
        if chosen.email_money and user.email and user.email_verified_at is not None:
            messages.append(
                notification_message(
                    channel="email", to=user.email, template=template, locale=user.locale,
                    params=params, sealer=sealer,
                )
            )  # fmt: skip
    await request_notifications(session, messages)


TRANSACTION_TOPIC = "wallet.transaction_updated"
TRANSACTION_TASK = "wallet.notify_transaction"
TRANSACTION_TEMPLATES = (
    "wallet.payment_made",
    "wallet.refund_received",
    "wallet.topup_succeeded",
    "wallet.bank_transfer_received",
    "wallet.topup_failed",
    "wallet.topup_method_succeeded",
    "wallet.topup_method_failed",
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
# A top-up paid with Alipay or WeChat Pay names the method, not a card.
BY_METHOD = {
    "wallet.topup_succeeded": "wallet.topup_method_succeeded",
    "wallet.topup_failed": "wallet.topup_method_failed",
}
METHOD_FAILURES = {
    "declined": N_("the payment was declined"),
    "insufficient_funds": N_("the balance was not enough"),
    "account_frozen": N_("your wallet is frozen; we will refund the payment"),
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
    failure = details.get("failure", "")
    reason = details.get("reason") or TOPUP_FAILURES.get(failure, "")
    method = details.get("method")
    if method in METHOD_LABELS and method != "card" and template in BY_METHOD:
        template = BY_METHOD[template]
        reason = details.get("reason") or METHOD_FAILURES.get(failure) or reason
    params = {
        "amount": _money(row.amount, row.currency),
        "fee": _money(row.fee, row.currency),
        "card": details.get("card", ""),
        "balance": _money(row.balance_after, row.currency),
        "reference": row.reference,
        "reason": reason,
        "who": row.counterparty_name or "",
        "method": METHOD_LABELS.get(method or "", ""),
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
    await inbox.send_by_preference(session, user, template, params, outbox_sealer(settings))
