"""What a merchant's staff are told, by jobs that run after the change commits: the operator's
decision on the merchant (``merchants.status_changed``: approved, rejected, suspended, active
again, closed; also by SMS, as the applicant may not have signed in yet), a settlement paid or
not paid (``merchants.payout_finished``) and a webhook endpoint switched off after failing
(``webhooks.endpoint_disabled``, from the webhooks domain). Each staff member gets an in-app
notice and, when their e-mail address is verified, an e-mail in their language; a retried job
sends nothing twice (the notice's dedup key)."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.identity.models import User
from qianbao.kernel.money import Money
from qianbao.merchants import onboarding
from qianbao.merchants.errors import MerchantNotFound
from qianbao.merchants.events import PAYOUT_TOPIC
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import Settlement
from qianbao.notifications import inbox, outbox_sealer
from qianbao.notifications import request as request_notification
from qianbao.webhooks import ENDPOINT_DISABLED_TOPIC
from qianbao.worker import JobContext, TaskRegistry

STATUS_TASK = "merchants.notify_status"
STATUS_TEMPLATES = {
    "active": "merchants.status_active",
    "rejected": "merchants.status_rejected",
    "suspended": "merchants.status_suspended",
    "closed": "merchants.status_closed",
}
PAYOUT_TASK = "merchants.notify_payout"
WEBHOOK_TASK = "merchants.notify_webhook_disabled"


def _name(merchant: Merchant, locale: str) -> str:
    return merchant.name_zh if locale.startswith("zh") else merchant.name_en


async def _tell_staff(
    ctx: JobContext,
    merchant: Merchant,
    *,
    template: str,
    params: dict[str, Any],
    link: str,
    dedup: str,
    sms: bool = False,
) -> None:
    settings = ctx.services["settings"]
    for user in await onboarding.staff_of(ctx.session, merchant.id):
        mine = {**params, "merchant": _name(merchant, user.locale)}
        created = await inbox.add(
            ctx.session,
            user_id=user.id,
            template=template,
            params=mine,
            link=link,
            dedup_key=f"{dedup}:{user.id}",
        )
        if created and sms:
            await request_notification(
                ctx.session,
                channel="sms",
                to=user.phone,
                template=template,
                locale=user.locale,
                params=mine,
                sealer=outbox_sealer(settings),
            )
        if created and _email_ok(user):
            assert user.email is not None
            await request_notification(
                ctx.session,
                channel="email",
                to=user.email,
                template=template,
                locale=user.locale,
                params=mine,
                sealer=outbox_sealer(settings),
            )


def _email_ok(user: User) -> bool:
    return bool(user.email) and user.email_verified_at is not None


async def notify_payout(ctx: JobContext, payload: dict[str, Any]) -> None:
    row = await ctx.session.get(Settlement, uuid.UUID(payload["settlement_id"]))
    if row is None or row.status not in ("paid", "failed", "returned"):
        return
    try:
        merchant = await onboarding.get(ctx.session, row.merchant_id)
    except MerchantNotFound:
        return
    params = {
        "amount": f"{Money(row.net, row.currency).to_decimal_string()} {row.currency}",
        "day": row.business_date.isoformat(),
        "account": f"{merchant.settlement_bank_name} ****{merchant.settlement_last4}",
    }
    if row.status != "paid":
        params["reason"] = row.failure or ""
    await _tell_staff(
        ctx,
        merchant,
        template="merchants.payout_paid" if row.status == "paid" else "merchants.payout_failed",
        params=params,
        link=f"/merchant/settlements/{row.id}",
        dedup=f"settlement:{row.id}:{row.status}",
    )


async def notify_webhook_disabled(ctx: JobContext, payload: dict[str, Any]) -> None:
    try:
        merchant = await onboarding.get(ctx.session, payload["owner_id"])
    except MerchantNotFound:
        return  # an endpoint of another kind of owner
    await _tell_staff(
        ctx,
        merchant,
        template="merchants.webhook_disabled",
        params={"url": payload["url"][:200]},
        link="/merchant/webhooks",
        dedup=f"webhook-off:{payload['endpoint_id']}:{payload.get('at', '')}",
    )


async def notify_status(ctx: JobContext, payload: dict[str, Any]) -> None:
    try:
        merchant = await onboarding.get(ctx.session, payload["merchant_id"])
    except MerchantNotFound:
        return
    status = payload["status"]
    if merchant.status != status or status not in STATUS_TEMPLATES:
        return  # changed again meanwhile: that change has its own job
    assert merchant.reviewed_at is not None
    await _tell_staff(
        ctx,
        merchant,
        template=STATUS_TEMPLATES[status],
        params={"reason": merchant.status_reason or "—"},
        link="/merchant",
        dedup=f"merchant-status:{merchant.id}:{status}:{merchant.reviewed_at.isoformat()}",
        sms=True,
    )


def register(registry: TaskRegistry) -> None:
    registry.register(STATUS_TASK, notify_status, subscribes=[onboarding.STATUS_TOPIC])
    registry.register(PAYOUT_TASK, notify_payout, subscribes=[PAYOUT_TOPIC])
    registry.register(WEBHOOK_TASK, notify_webhook_disabled, subscribes=[ENDPOINT_DISABLED_TOPIC])
