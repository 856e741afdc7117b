"""The worker tasks of USDT on chains: watching the chains (deposits, confirmations, withdrawals
to send and to confirm), sending a withdrawal as soon as it is asked for, and telling the user
when a deposit is credited or a withdrawal ends (in-app, then SMS / e-mail per preferences)."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao.identity.models import User
from qianbao.kernel.money import Money
from qianbao.notifications import inbox, outbox_sealer
from qianbao.notifications.templates_chain import CHAIN_TEMPLATES
from qianbao.rails import chain_factory
from qianbao.rails.chain import NETWORKS
from qianbao.wallet import chain, chain_deposits, chain_watch, chain_withdrawals
from qianbao.wallet.models import WalletTransaction
from qianbao.worker import JobContext

WATCH_TASK = "wallet.chain_watch"
SEND_TASK = "wallet.chain_send"
NOTIFY_TASK = "wallet.chain_notify"
TEMPLATE_NAMES = {t.name for t in CHAIN_TEMPLATES}


async def watch(ctx: JobContext) -> None:
    await chain_watch.watch(ctx.session, ctx.services["settings"])


async def send(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A withdrawal just asked for: broadcast it now (the watcher would, at its next poll)."""
    settings = ctx.services["settings"]
    provider = chain_factory.provider(settings) if chain.enabled(settings) else None
    if provider is None:
        return
    withdrawal = await chain_withdrawals.locked(ctx.session, payload["withdrawal_id"])
    if withdrawal is not None:
        await chain_withdrawals.send(ctx.session, provider, withdrawal)


async def notify(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A deposit credited or a withdrawal finished: tell the user, once even if run again."""
    session, template = ctx.session, payload.get("template", "")
    if template not in TEMPLATE_NAMES:
        return
    row = await session.get(WalletTransaction, uuid.UUID(payload["transaction_id"]))
    user = await session.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        return
    details = row.details or {}
    network = NETWORKS.get(details.get("network", ""))
    params = {
        "amount": Money(row.amount, row.currency).text(),
        "fee": Money(row.fee or 0, row.currency).text(),
        "balance": Money(row.balance_after or 0, row.currency).text(),
        "network": network.label if network else "",
        "address": details.get("address", ""),
        "txid": details.get("txid", ""),
        "reason": details.get("reason", ""),
        "reference": row.reference,
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
    await inbox.send_by_preference(
        session, user, template, params, outbox_sealer(ctx.services["settings"])
    )


def register(registry: Any, settings: Any | None = None) -> None:
    """Register this part's worker tasks (called by ``qianbao.tasks.register_tasks``). The
    development chain asked for in production stops the start here, with the reason."""
    if settings is not None:
        chain_factory.backend(settings)  # raises for QIANBAO_CHAIN__BACKEND=dev in production
    every = settings.chain.poll_interval_s if settings is not None else 3.0
    registry.periodic(WATCH_TASK, every, watch)
    registry.register(SEND_TASK, send, subscribes=[chain_withdrawals.SEND_TOPIC])
    registry.register(NOTIFY_TASK, notify, subscribes=[chain_deposits.NOTIFY_TOPIC])
