"""The customer's side of a claim (D4): open one on a transaction (from its page, the help center,
a chat, or by answering "No" to "Was this you?"), follow it, appeal a rejection once.

Opening a claim holds at once whatever of the money is still in the recipient's wallet, so it
cannot leave while the case is investigated; the customer may freeze their own account in the
same step. The claim, the hold and the first timeline entries are one transaction; the linked
support ticket is opened right after, from the ``disputes.case_opened`` event."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from qianbao.disputes import files
from qianbao.disputes.errors import (
    AlreadyAppealed,
    AlreadyClaimed,
    AppealTooLate,
    CaseNotFound,
    ClaimInvalid,
    ClaimTooLate,
    NotClaimable,
    ScreenshotRefused,
    WrongStage,
)
from qianbao.disputes.models import SHARED, Case, CaseEvent
from qianbao.disputes.notices import tell
from qianbao.identity import freeze
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel import outbox
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.db import lock_for_transaction
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.kernel.uploads import CheckedUpload, Upload, human_size
from qianbao.merchants import chargebacks
from qianbao.wallet import history, recovery
from qianbao.wallet.models import WalletTransaction

OPENED = "disputes.case_opened"
MAX_TEXT = 2000


def new_reference(now: datetime) -> str:
    return "D" + now.astimezone(LOCAL_TZ).strftime("%Y%m%d") + f"{secrets.randbelow(10**6):06d}"


async def event(
    session: Any,
    case: Case,
    kind: str,
    *,
    actor: uuid.UUID | None = None,
    note: str | None = None,
    amount: int | None = None,
    public: bool = True,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            kind=kind,
            actor_id=actor,
            note=note,
            amount=amount,
            public=public,
            created_at=clock_of(session).now(),
        )
    )


async def hold_recipient(session: Any, case: Case, step: str) -> None:
    """Hold what is still in the recipient's wallet, up to the claimed amount, for the case."""
    assert case.counterparty_user_id is not None
    held = await recovery.hold_from(
        session,
        recipient_id=case.counterparty_user_id,
        claimant_id=case.user_id,
        currency=case.currency,
        up_to=case.claimed,
        key=f"case:{case.id}:{step}",
    )
    case.hold_id, case.held = held.hold_id, held.amount
    await event(session, case, "held", amount=held.amount)


async def own_sent(
    session: Any, user: User, transaction_id: str, kinds: tuple[str, ...]
) -> WalletTransaction:
    """The user's own money-out transaction of one of ``kinds``, gone through (a transfer with
    its recipient known): what a case can be about. Anyone else's is not found."""
    tx = await history.get_transaction(session, user.id, transaction_id)
    if tx.direction != "out" or tx.status != "completed" or tx.kind not in kinds:
        raise NotClaimable()
    if tx.kind == "transfer" and tx.counterparty_user_id is None:
        raise NotClaimable()
    return tx


def check_window(settings: Any, tx: WalletTransaction, now: datetime) -> None:
    if now - tx.created_at > timedelta(days=settings.claim_window_days):
        raise ClaimTooLate(days=settings.claim_window_days)


async def first_case_on(session: Any, tx: WalletTransaction) -> None:
    """Refuse a second case on a transaction. Two at the same instant: the second waits for the
    first's transaction, then finds its case."""
    await lock_for_transaction(session, f"claim:{tx.id}")
    existing = (
        await session.execute(select(Case.reference).where(Case.transaction_id == tx.id))
    ).scalar_one_or_none()
    if existing is not None:
        raise AlreadyClaimed(reference=existing)


async def open_claim(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    transaction_id: str,
    what_happened: str,
    shared: str,
    noticed_at: datetime | None = None,
    claimed: str | None = None,
    freeze_account: bool = False,
    source: str = "transaction",
    ip: str | None = None,
    opened_by: uuid.UUID | None = None,
    screenshots: list[CheckedUpload] | None = None,
) -> Case:
    """Open an unauthorized-transaction claim on one of the user's own transactions — by the
    user, or by an agent for them (``opened_by``, source ``agent``: from the customer's page in
    the console, after hearing them on the phone or in a chat)."""
    settings = ctx.settings.disputes
    tx = await own_sent(session, user, transaction_id, ("transfer", "payment"))
    payment = None
    if tx.kind == "payment":  # a claim on a shop: a chargeback if upheld
        payment_id = (tx.details or {}).get("payment_id")
        if not payment_id:
            raise NotClaimable()
        payment = await chargebacks.facts(session, uuid.UUID(payment_id))
        if payment.claimable <= 0 or payment.customer_id != user.id:
            raise NotClaimable()
    now = clock_of(session).now()
    check_window(settings, tx, now)
    await first_case_on(session, tx)
    what_happened = (what_happened or "").strip()
    if not what_happened:
        raise ClaimInvalid(reason=N_("say what happened"))
    if len(what_happened) > MAX_TEXT:
        raise ClaimInvalid(reason=N_("the description is too long"))
    if shared not in SHARED:
        raise ClaimInvalid(reason=N_("say whether you shared a code, your PIN or your password"))
    most = tx.amount if payment is None else min(tx.amount, payment.claimable)
    amount = Money.parse(claimed, tx.currency, allow_zero=False).minor if claimed else most
    if not 0 < amount <= most:
        raise ClaimInvalid(
            reason=N_("the amount claimed must be more than 0 and at most the transaction's")
        )
    if noticed_at is not None and not tx.created_at - timedelta(days=1) <= noticed_at <= now:
        raise ClaimInvalid(reason=N_("the time you noticed it must be after the transaction"))
    case = Case(
        reference=new_reference(now),
        kind="unauthorized",
        status="open",
        user_id=user.id,
        transaction_id=tx.id,
        counterparty_user_id=tx.counterparty_user_id if payment is None else None,
        merchant_payment_id=payment.payment_id if payment else None,
        merchant_id=payment.merchant_id if payment else None,
        merchant_due_at=now + timedelta(days=settings.merchant_answer_days) if payment else None,
        currency=tx.currency,
        amount=tx.amount,
        claimed=amount,
        what_happened=what_happened,
        noticed_at=noticed_at,
        shared=shared,
        froze_account=freeze_account,
        source=source,
        due_at=now + timedelta(hours=settings.recommend_hours),
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()  # the unique index: a second claim at the same instant fails here
    await event(session, case, "opened", actor=opened_by or user.id, amount=amount)
    if screenshots:
        await files.add(session, case, screenshots)
    if payment is None:
        await hold_recipient(session, case, "hold")
    else:  # the shop is told and may answer with its evidence
        await chargebacks.dispute_event(
            session,
            payment.merchant_id,
            "dispute.opened",
            case_reference=case.reference,
            payment_id=payment.payment_id,
            amount=amount,
            currency=tx.currency,
            status="under_review",
            respond_by=case.merchant_due_at,
            at=now,
        )
        await event(session, case, "merchant_told", public=True)
    if freeze_account and user.frozen_at is None:
        await freeze.freeze(
            session, ctx, user, reason=f"claim {case.reference}", ip=ip, outgoing_only=True
        )
        await event(session, case, "frozen", actor=user.id)
    await session.flush()
    await outbox.emit(session, OPENED, {"case_id": str(case.id)})
    await tell(session, ctx.settings, user, case, "disputes.case_opened")
    return case


async def open_for_denied_hold(
    session: Any, settings: Any, user: User, transaction_id: uuid.UUID
) -> Case | None:
    """The user answered "No, it was not me" to a held transfer: it was cancelled (no money
    moved) and the account frozen; a case records it for the agents to investigate the account.
    Idempotent: a retried job finds the case."""
    if (
        await session.execute(select(Case.id).where(Case.transaction_id == transaction_id))
    ).first() is not None:
        return None
    tx = await history.get_transaction(session, user.id, str(transaction_id))
    now = clock_of(session).now()
    case = Case(
        reference=new_reference(now),
        kind="unauthorized",
        status="open",
        user_id=user.id,
        transaction_id=tx.id,
        counterparty_user_id=tx.counterparty_user_id,
        currency=tx.currency,
        amount=tx.amount,
        claimed=tx.amount,
        what_happened=HELD_NO,
        shared="unsure",
        froze_account=True,
        source="held_no",
        due_at=now + timedelta(hours=settings.disputes.recommend_hours),
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()
    await event(session, case, "opened", actor=user.id, amount=tx.amount)
    await event(session, case, "frozen", actor=user.id)
    await outbox.emit(session, OPENED, {"case_id": str(case.id)})
    return case


# What a case opened by a "No" says happened (a msgid: shown in the reader's language).
HELD_NO = N_(
    'I answered No to "Was this you?": the payment was held and cancelled, and my account frozen.'
)


async def claimable(session: Any, settings: Any, user_id: uuid.UUID) -> list[WalletTransaction]:
    """The user's transfers and shop payments a claim could be about: gone through, within the
    claim window, with no case yet, newest first (the help center's and the chat's "report a
    transaction" starts here)."""
    since = clock_of(session).now() - timedelta(days=settings.disputes.claim_window_days)
    rows = await session.execute(
        select(WalletTransaction)
        .where(
            WalletTransaction.user_id == user_id,
            WalletTransaction.direction == "out",
            WalletTransaction.status == "completed",
            WalletTransaction.kind.in_(("transfer", "payment")),
            WalletTransaction.created_at >= since,
            ~select(Case.id).where(Case.transaction_id == WalletTransaction.id).exists(),
        )
        .order_by(WalletTransaction.created_at.desc())
        .limit(30)
    )
    return list(rows.scalars())


async def add_screenshots(
    session: Any, user: User, case_id: uuid.UUID | str, uploads: list[Upload]
) -> Case:
    """More screenshots for the user's own case while it is not closed."""
    checked = files.check(uploads)
    case = await get_own(session, user.id, case_id)
    if case.closed_at is not None or case.status in ("refunded", "withdrawn"):
        raise WrongStage(status=case.status)
    if not checked:
        raise ScreenshotRefused(name="-", limit=human_size(files.MAX_BYTES), count=files.MAX_COUNT)
    await files.add(session, case, checked)
    await event(session, case, "screenshots", actor=user.id, amount=None)
    case.updated_at = clock_of(session).now()
    await session.flush()
    return case


async def of_user(session: Any, user_id: uuid.UUID) -> list[Case]:
    rows = await session.execute(
        select(Case).where(Case.user_id == user_id).order_by(Case.created_at.desc())
    )
    return list(rows.scalars())


async def get_own(session: Any, user_id: uuid.UUID, case_id: uuid.UUID | str) -> Case:
    try:
        ident = uuid.UUID(str(case_id))
    except ValueError:
        raise CaseNotFound() from None
    case = await session.get(Case, ident)
    if case is None or case.user_id != user_id:
        raise CaseNotFound()
    return case


async def of_transaction(
    session: Any, user_id: uuid.UUID, transaction_id: uuid.UUID
) -> Case | None:
    return (
        await session.execute(
            select(Case).where(Case.transaction_id == transaction_id, Case.user_id == user_id)
        )
    ).scalar_one_or_none()


async def timeline(session: Any, case: Case, *, public_only: bool) -> list[CaseEvent]:
    q = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    if public_only:
        q = q.where(CaseEvent.public.is_(True))
    return list((await session.execute(q)).scalars())


async def appeal(
    session: Any, ctx: IdentityContext, user: User, case_id: uuid.UUID | str, *, note: str
) -> Case:
    """A rejected claim may be appealed once: it goes back to the agents, with the note."""
    case = await get_own(session, user.id, case_id)
    case = (
        await session.execute(select(Case).where(Case.id == case.id).with_for_update())
    ).scalar_one()
    if case.appealed_at is not None:
        raise AlreadyAppealed()
    if case.status != "rejected":
        raise WrongStage(status=case.status)
    settings = ctx.settings.disputes
    now = clock_of(session).now()
    assert case.closed_at is not None
    if now - case.closed_at > timedelta(days=settings.appeal_days):
        raise AppealTooLate(days=settings.appeal_days)
    note = (note or "").strip()
    if not note:
        raise ClaimInvalid(reason=N_("say why the decision is wrong"))
    case.status, case.appealed_at, case.appeal_note = "open", now, note[:MAX_TEXT]
    case.recommendation = case.recommended_by = case.recommended_amount = None
    case.decided_by, case.closed_at, case.updated_at = None, None, now
    case.due_at = now + timedelta(hours=settings.recommend_hours)
    await event(session, case, "appealed", actor=user.id, note=case.appeal_note)
    if case.counterparty_user_id is not None:  # hold again what the recipient still has
        await hold_recipient(session, case, "appeal-hold")
    await session.flush()
    return case
