"""The composition root of background work: which domain task runs when. Imported by the
process that runs a ``Worker`` (the web app's lifespan or ``qianbao worker``)."""

from __future__ import annotations

import uuid
from typing import Any

from qianbao import notifications, webhooks
from qianbao.banking import inbox as bank_inbox
from qianbao.banking import safeguarding as bank_safeguarding
from qianbao.disputes import claims as dispute_claims
from qianbao.disputes import files as dispute_files
from qianbao.disputes import mistaken as dispute_mistaken
from qianbao.disputes import review as dispute_review
from qianbao.identity.models import User
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.ledger import Ledger
from qianbao.merchants import checkout as merchant_checkout
from qianbao.merchants import notices as merchant_notices
from qianbao.merchants import payment_codes, settlement
from qianbao.rails import factory as rails
from qianbao.rails import sandbox
from qianbao.support import reply_notice
from qianbao.support.chat import desk as chat_desk
from qianbao.support.chat import mail as _chat_mail  # noqa: F401  (its e-mail template)
from qianbao.support.chat.service import Config as ChatConfig
from qianbao.support.im import tasks as im_tasks
from qianbao.support.tickets import service as ticket_service
from qianbao.support.tickets import tasks as ticket_tasks
from qianbao.wallet import budget_tasks, chain_tasks, held_answers, payouts, topup, withdrawal_steps
from qianbao.wallet import held as held_transfers
from qianbao.wallet import tasks as wallet_tasks
from qianbao.worker import JobContext, registry
from qianbao.worker.registry import StandaloneContext


async def chat_reply_notice(ctx: JobContext, payload: dict[str, Any]) -> None:
    """An agent's chat answer still unread: tell the customer (support.reply_notice)."""
    await reply_notice.send_chat_notice(
        ctx.session, ctx.services["settings"], payload["conversation"], int(payload["message"])
    )


async def expire_ledger_holds(ctx: JobContext) -> None:
    ledger = await Ledger.of_session(ctx.session)
    await ledger.expire_due_holds()


async def submit_withdrawal(ctx: JobContext, payload: dict[str, Any]) -> None:
    settings = ctx.services["settings"]
    await payouts.submit(ctx.session, settings, rails.payouts(settings), payload["withdrawal_id"])


async def import_bank_folder(ctx: StandaloneContext) -> None:
    """Statement files dropped into the watched folder: each in its own transaction."""
    await bank_inbox.import_folder(ctx.db, ctx.services["settings"])


async def safeguarding_report(ctx: JobContext) -> None:
    """Today's safeguarding report per currency, once a day (an alert if it does not balance)."""
    await bank_safeguarding.daily(ctx.session)


async def expire_held_transfers(ctx: JobContext) -> None:
    await held_answers.expire_due(ctx.session, ctx.services["settings"])


async def open_case_for_denied_hold(ctx: JobContext, payload: dict[str, Any]) -> None:
    user = await ctx.session.get(User, uuid.UUID(payload["user_id"]))
    if user is not None:
        await dispute_claims.open_for_denied_hold(
            ctx.session, ctx.services["settings"], user, uuid.UUID(payload["transaction_id"])
        )


async def escalate_mistaken(ctx: JobContext) -> None:
    await dispute_mistaken.escalate_due(ctx.session, ctx.services["settings"])


async def link_case_ticket(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Every case has a support ticket linked to its transaction (the customer's thread)."""
    case = await dispute_review.get(ctx.session, payload["case_id"], lock=True)
    user = await ctx.session.get(User, case.user_id)
    if case.ticket_reference is not None or user is None:
        return
    body = gettext(user.locale, case.what_happened)  # a msgid when the wallet wrote it
    ticket = await ticket_service.open_ticket(
        ctx.session,
        ctx.services["settings"],
        new=ticket_service.NewTicket(
            category="security",
            subject=gettext(
                user.locale, CASE_SUBJECT if case.kind == "unauthorized" else MISTAKEN_SUBJECT
            ).format(reference=case.reference),
            body=body,
            transaction_id=str(case.transaction_id),
            priority="high",
        ),
        user_id=user.id,
        requester_email=user.email if user.email and user.email_verified_at else None,
        channel="web",
        # The claim's screenshots on the ticket too (its thread is where the customer talks).
        uploads=await dispute_files.contents(ctx.session, case.id),
    )
    case.ticket_reference = ticket.reference
    await ctx.session.flush()


CASE_SUBJECT = N_("Unauthorized transaction claim {reference}")
MISTAKEN_SUBJECT = N_("Money sent to the wrong person, not returned: {reference}")


async def poll_payouts(ctx: JobContext) -> None:
    await payouts.poll(ctx.session, rails.payouts(ctx.services["settings"]))


async def tend_chat_desk(ctx: JobContext) -> None:
    await chat_desk.tend(ctx.session, ChatConfig.of(ctx.services["settings"], ctx.clock))


async def expire_topups(ctx: JobContext) -> None:
    settings = ctx.services["settings"]
    await topup.expire_stale(ctx.session, settings.payments.topup_expiry_minutes)


async def expire_merchant_requests(ctx: JobContext) -> None:
    site = ctx.services["settings"].http.site_url()
    await merchant_checkout.expire_due(ctx.session, site=site)
    await payment_codes.expire_due(ctx.session)


async def submit_settlement(ctx: JobContext, payload: dict[str, Any]) -> None:
    settings = ctx.services["settings"]
    await settlement.submit(
        ctx.session, settings, rails.payouts(settings), payload["settlement_id"]
    )


async def settle_merchants(ctx: JobContext) -> None:
    provider = rails.payouts(ctx.services["settings"])
    await settlement.run(ctx.session, ctx.services["settings"], provider)
    await settlement.poll(ctx.session, provider)


def register_tasks(
    interval_overrides: dict[str, float] | None = None, settings: Any | None = None
) -> None:
    intervals = {
        "ledger.expire_holds": 10.0,
        "wallet.poll_payouts": settings.payments.payout_poll_interval_s if settings else 10.0,
        "wallet.expire_topups": 60.0,
        "wallet.expire_held": 30.0,
        "disputes.escalate_mistaken": 3600.0,
        "support.tend_chat_desk": 30.0,
        "merchants.expire_requests": 30.0,
        "bank.safeguarding": 3600.0,
        "merchants.settle": settings.merchants.settlement_interval_s if settings else 600.0,
        webhooks.DISPATCH_TASK: settings.webhooks.dispatch_interval_s if settings else 1.0,
        **(interval_overrides or {}),
    }
    registry.periodic("ledger.expire_holds", intervals["ledger.expire_holds"], expire_ledger_holds)
    registry.periodic("wallet.poll_payouts", intervals["wallet.poll_payouts"], poll_payouts)
    registry.periodic("wallet.expire_topups", intervals["wallet.expire_topups"], expire_topups)
    registry.periodic("wallet.expire_held", intervals["wallet.expire_held"], expire_held_transfers)
    registry.periodic(
        "disputes.escalate_mistaken", intervals["disputes.escalate_mistaken"], escalate_mistaken
    )
    registry.periodic("support.tend_chat_desk", intervals["support.tend_chat_desk"], tend_chat_desk)
    registry.periodic(
        "merchants.expire_requests",
        intervals["merchants.expire_requests"],
        expire_merchant_requests,
    )
    registry.periodic("merchants.settle", intervals["merchants.settle"], settle_merchants)
    registry.periodic("bank.safeguarding", intervals["bank.safeguarding"], safeguarding_report)
    watch = intervals.get("bank.import_folder", settings.bank.watch_interval_s if settings else 0)
    if watch > 0:
        registry.periodic("bank.import_folder", watch, import_bank_folder, standalone=True)
    webhooks.register(registry, intervals[webhooks.DISPATCH_TASK])
    registry.register(
        "merchants.submit_settlement", submit_settlement, subscribes=[settlement.SUBMIT_TOPIC]
    )
    registry.register(sandbox.NOTIFY_TASK, sandbox.notify)
    registry.register(
        "wallet.submit_withdrawal", submit_withdrawal, subscribes=[withdrawal_steps.SUBMIT_TOPIC]
    )
    registry.register(
        wallet_tasks.TRANSACTION_TASK,
        wallet_tasks.notify_transaction,
        subscribes=[wallet_tasks.TRANSACTION_TOPIC],
    )
    notifications.register(registry)
    chain_tasks.register(registry, settings)
    budget_tasks.register(registry, settings)
    merchant_notices.register(registry)
    ticket_tasks.register(registry)
    im_tasks.register(registry, settings.im.send_interval_s if settings else 1.0)
    registry.register(
        wallet_tasks.TASK,
        wallet_tasks.notify_transfer,
        subscribes=[wallet_tasks.TOPIC],
        batch=wallet_tasks.notify_transfers,
    )
    registry.register(
        "disputes.open_for_denied_hold",
        open_case_for_denied_hold,
        subscribes=[held_transfers.DENIED_TOPIC],
    )
    registry.register("disputes.link_ticket", link_case_ticket, subscribes=[dispute_claims.OPENED])
    registry.register(reply_notice.CHAT_TASK, chat_reply_notice)
