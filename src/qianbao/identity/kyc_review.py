"""Deciding a tier 2 application (A8): approve (the user becomes tier 2), reject with a reason the
user sees, or ask for a new photo of one document. Who may decide, and the audit log, are the
console's (``qianbao.support.console.kyc``); this module owns the states and tells the user.

A decision is one conditional UPDATE of a ``submitted`` application: two operators deciding at
once get exactly one decision, the other is told it is already decided (``kyc.already_decided``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from qianbao.identity.kyc import DOCUMENT_NAMES, documents_of, open_document
from qianbao.identity.kyc_errors import (
    AlreadyDecided,
    ApplicationNotFound,
    DocumentKindUnknown,
    NoteRequired,
    OwnApplication,
    ReasonInvalid,
)
from qianbao.identity.models import User
from qianbao.identity.models_kyc import DOCUMENT_KINDS, KycApplication, KycDocument, KycIdentity
from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import plain_text
from qianbao.notifications import inbox, outbox_sealer
from qianbao.notifications import request as request_notification

MAX_NOTE = 500
LINK = "/me/verify"
# Why an application is not approved as it is: the user reads the text in their language.
REASONS = {
    "unreadable": N_("The photo is blurred, too dark or has glare: the card cannot be read."),
    "cut_off": N_("Part of the ID card is cut off or covered."),
    "not_matching": N_("The ID card does not match the name and ID number you gave."),
    "expired": N_("The ID card has expired."),
    "not_original": N_("The photo is not of the original card (a copy, a screen or an edit)."),
    "selfie": N_("The selfie does not clearly show your face next to the ID card."),
    "other": N_("See the note from our team."),
}


@dataclass(frozen=True)
class Waiting:
    application: KycApplication
    user: User
    identity: KycIdentity | None


async def queue(session: Any, *, limit: int = 100) -> list[Waiting]:
    """Submitted applications, the one waiting longest first."""
    rows = await session.execute(
        select(KycApplication, User, KycIdentity)
        .join(User, User.id == KycApplication.user_id)
        .outerjoin(KycIdentity, KycIdentity.user_id == KycApplication.user_id)
        .where(KycApplication.status == "submitted")
        .order_by(KycApplication.submitted_at, KycApplication.id)
        .limit(limit)
    )
    return [Waiting(app, user, identity) for app, user, identity in rows.all()]


async def waiting_count(session: Any) -> int:
    found = await session.execute(select(func.count()).where(KycApplication.status == "submitted"))
    return int(found.scalar_one())


async def get(session: Any, application_id: uuid.UUID | str) -> Waiting:
    try:
        wanted = uuid.UUID(str(application_id))
    except ValueError:
        raise ApplicationNotFound() from None
    row = (
        await session.execute(
            select(KycApplication, User, KycIdentity)
            .join(User, User.id == KycApplication.user_id)
            .outerjoin(KycIdentity, KycIdentity.user_id == KycApplication.user_id)
            .where(KycApplication.id == wanted)
        )
    ).first()
    if row is None:
        raise ApplicationNotFound()
    return Waiting(*row)


async def document(session: Any, settings: Any, app: KycApplication, kind: str) -> bytes:
    """One photo of the application, opened (JPEG bytes)."""
    if kind not in DOCUMENT_KINDS:
        raise DocumentKindUnknown()
    doc = (
        await session.execute(
            select(KycDocument).where(
                KycDocument.application_id == app.id, KycDocument.kind == kind
            )
        )
    ).scalar_one_or_none()
    if doc is None:
        raise DocumentKindUnknown()
    await session.refresh(doc, ["image_sealed"])
    return open_document(settings, doc)


def _reason(reason: str, note: str | None) -> tuple[str, str | None]:
    if reason not in REASONS:
        raise ReasonInvalid()
    text = plain_text(note)[:MAX_NOTE] or None
    if reason == "other" and text is None:
        raise NoteRequired()
    return reason, text


async def _decide(
    session: Any, app_id: uuid.UUID | str, by: uuid.UUID, **values: Any
) -> KycApplication:
    found = await get(session, app_id)
    if found.application.user_id == by:
        raise OwnApplication()
    now = clock_of(session).now()
    done = await session.execute(
        update(KycApplication)
        .where(KycApplication.id == found.application.id, KycApplication.status == "submitted")
        .values(decided_at=now, decided_by=by, updated_at=now, **values)
        .returning(KycApplication.id)
        .execution_options(synchronize_session=False)
    )
    if done.first() is None:
        raise AlreadyDecided()
    await session.refresh(found.application)
    return found.application


async def approve(
    session: Any, settings: Any, app_id: uuid.UUID | str, *, by: uuid.UUID
) -> KycApplication:
    app = await _decide(
        session, app_id, by, status="approved", reason_code=None, note=None, resubmit_kind=None
    )
    user = (
        await session.execute(
            select(User)
            .where(User.id == app.user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    user.kyc_tier = max(user.kyc_tier, 2)
    await session.flush()
    await _tell(session, settings, user, app, "kyc.approved", {})
    return app


async def reject(
    session: Any,
    settings: Any,
    app_id: uuid.UUID | str,
    *,
    by: uuid.UUID,
    reason: str,
    note: str | None = None,
) -> KycApplication:
    code, text = _reason(reason, note)
    app = await _decide(
        session, app_id, by, status="rejected", reason_code=code, note=text, resubmit_kind=None
    )
    user = await session.get(User, app.user_id)
    await _tell(session, settings, user, app, "kyc.rejected", {"reason": REASONS[code]})
    return app


async def ask_again(
    session: Any,
    settings: Any,
    app_id: uuid.UUID | str,
    *,
    by: uuid.UUID,
    kind: str,
    reason: str,
    note: str | None = None,
) -> KycApplication:
    """Ask for a new photo of ``kind``; the other two photos stay."""
    if kind not in DOCUMENT_KINDS:
        raise DocumentKindUnknown()
    code, text = _reason(reason, note)
    app = await _decide(
        session, app_id, by, status="resubmit", reason_code=code, note=text, resubmit_kind=kind
    )
    user = await session.get(User, app.user_id)
    params = {"reason": REASONS[code], "document": DOCUMENT_NAMES[kind]}
    await _tell(session, settings, user, app, "kyc.resubmit", params)
    return app


async def _tell(
    session: Any,
    settings: Any,
    user: User,
    app: KycApplication,
    template: str,
    params: dict[str, str],
) -> None:
    """In the app's inbox (with a link to the page) and by SMS, in the user's language."""
    decided: datetime | None = app.decided_at
    created = await inbox.add(
        session,
        user_id=user.id,
        template=template,
        params=params,
        link=LINK,
        dedup_key=f"kyc:{app.id}:{template}:{decided.isoformat() if decided else ''}",
    )
    if created:
        await request_notification(
            session,
            channel="sms",
            to=user.phone,
            template=template,
            locale=user.locale,
            params=params,
            sealer=outbox_sealer(settings),
        )


async def documents(session: Any, app: KycApplication) -> dict[str, KycDocument]:
    return await documents_of(session, app.id)
