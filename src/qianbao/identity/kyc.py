"""Identity verification (A8), the customer's side: tiers and what each unlocks.

- **Tier 0** — a new account: the basic limits.
- **Tier 1** — real name and resident ID card number (``verify_basic``): the number's check
  digit, date and region are checked, the date of birth and sex typed must agree with it, the
  person must be old enough; the number is sealed at rest and its keyed fingerprint refuses it
  on a second account. The name becomes the account's real name.
- **Tier 2** — documents reviewed by an operator: photos of the ID card's two sides and a
  selfie, uploaded one by one (``upload``: checked, stripped of metadata, sealed), then
  submitted (``submit``); the review is ``qianbao.identity.kyc_review``.

Every refusal is a ``kyc.*`` DomainError and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from qianbao.identity import kyc_id
from qianbao.identity.context import IdentityContext
from qianbao.identity.kyc_errors import (
    AlreadyVerified,
    DocumentKindUnknown,
    DocumentsMissing,
    IdInUse,
    KycError,
    NothingToSubmit,
    OnlyRequestedDocument,
    ReplaceFirst,
    Tier1First,
    TooManyAttempts,
    UnderReview,
)
from qianbao.identity.kyc_images import Readable, clean_off_loop, read_capped
from qianbao.identity.kyc_tiers import require_tier, tier_limits
from qianbao.identity.models import SecurityEvent, User
from qianbao.identity.models_kyc import (
    DOCUMENT_KINDS,
    OPEN_STATUSES,
    KycApplication,
    KycDocument,
    KycIdentity,
)
from qianbao.kernel.clock import clock_of
from qianbao.kernel.crypto import Sealer
from qianbao.kernel.db import release_connection
from qianbao.kernel.i18n import N_

__all__ = [
    "DOCUMENT_KINDS",
    "DOCUMENT_NAMES",
    "Verification",
    "require_tier",
    "status",
    "submit",
    "tier_limits",
    "upload",
    "verify_basic",
]

ID_SEALER_PURPOSE = "kyc-id-numbers"
DOCUMENT_SEALER_PURPOSE = "kyc-documents"
FINGERPRINT_PURPOSE = "kyc-id-number"  # keyed hash under the secret keys

DOCUMENT_NAMES = {
    "id_front": N_("ID card, photo side"),
    "id_back": N_("ID card, national emblem side"),
    "selfie": N_("selfie holding your ID card"),
}


def id_sealer(settings: Any) -> Sealer:
    return Sealer.for_purpose(settings.data_key_bytes(), ID_SEALER_PURPOSE)


def document_sealer(settings: Any) -> Sealer:
    return Sealer.for_purpose(settings.data_key_bytes(), DOCUMENT_SEALER_PURPOSE)


def document_aad(application_id: uuid.UUID, kind: str) -> bytes:
    """Binds a sealed photo to its application and kind: it cannot be swapped for another."""
    return f"kyc:{application_id}:{kind}".encode()


# -- what the customer sees ---------------------------------------------------------------------
@dataclass(frozen=True)
class Verification:
    tier: int
    identity: KycIdentity | None
    application: KycApplication | None  # the open one, else the latest
    documents: dict[str, KycDocument]  # of ``application``, by kind

    @property
    def missing(self) -> list[str]:
        return [kind for kind in DOCUMENT_KINDS if kind not in self.documents]

    @property
    def replaced(self) -> bool:
        """In ``resubmit``: the photo asked for was uploaded again since the request."""
        app = self.application
        if app is None or app.status != "resubmit" or app.resubmit_kind is None:
            return False
        doc = self.documents.get(app.resubmit_kind)
        return doc is not None and app.decided_at is not None and doc.uploaded_at > app.decided_at

    @property
    def next_step(self) -> str:
        """``identity`` (tier 1 form), ``documents`` (upload the photos), ``submit``,
        ``replace`` (the photo asked for), ``wait`` (under review) or ``done`` (tier 2)."""
        if self.tier >= 2:
            return "done"
        if self.identity is None:
            return "identity"
        app = self.application
        if app is None or app.status not in OPEN_STATUSES:
            return "documents"
        if app.status == "submitted":
            return "wait"
        if app.status == "resubmit":
            return "submit" if self.replaced else "replace"
        return "documents" if self.missing else "submit"


async def status(session: Any, user: User) -> Verification:
    identity = await session.get(KycIdentity, user.id)
    app = (
        await session.execute(
            select(KycApplication)
            .where(KycApplication.user_id == user.id)
            .order_by(KycApplication.created_at.desc(), KycApplication.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    documents = await documents_of(session, app.id) if app is not None else {}
    return Verification(user.kyc_tier, identity, app, documents)


async def documents_of(session: Any, application_id: uuid.UUID) -> dict[str, KycDocument]:
    """The application's photos by kind (without their sealed bytes)."""
    rows = await session.execute(
        select(KycDocument).where(KycDocument.application_id == application_id)
    )
    return {doc.kind: doc for doc in rows.scalars()}


# -- tier 1 -------------------------------------------------------------------------------------
async def verify_basic(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    real_name: str,
    id_number: str,
    birthday: str,
    sex: str,
) -> KycIdentity:
    """Tier 1: check the name, the number and that the date of birth and sex agree with it.
    A refused attempt is counted (committed on its own, the request fails); after
    ``kyc.basic_attempts_per_day`` of them in 24 hours tier 1 waits (``kyc.too_many_attempts``),
    so nobody can try number after number to learn which are registered."""
    if await session.get(KycIdentity, user.id) is not None:
        raise AlreadyVerified()
    now = clock_of(session).now()
    refused = await session.scalar(
        select(func.count()).where(
            SecurityEvent.user_id == user.id,
            SecurityEvent.kind == "kyc_refused",
            SecurityEvent.created_at > now - timedelta(hours=24),
        )
    )
    if (refused or 0) >= ctx.settings.kyc.basic_attempts_per_day:
        raise TooManyAttempts()
    try:
        name = kyc_id.parse_name(real_name)
        number = kyc_id.parse_number(id_number)
        kyc_id.check(
            number,
            birthday=kyc_id.parse_birthday(birthday),
            sex=kyc_id.parse_sex(sex),
            today=clock_of(session).today(),
            min_age=ctx.settings.kyc.min_age_years,
        )
        # Under any listed secret key: after a rotation the unique index alone would not see a
        # number verified before it (its fingerprint is re-made when the keys are rewrapped).
        taken = await session.execute(
            select(KycIdentity.user_id).where(
                KycIdentity.id_fingerprint.in_(ctx.keyed_hashes(FINGERPRINT_PURPOSE, number.number))
            )
        )
        if taken.first() is not None:
            raise IdInUse()
    except KycError as exc:
        async with ctx.db.side_transaction() as side:
            side.add(
                SecurityEvent(
                    user_id=user.id,
                    kind="kyc_refused",
                    starts_cooling_off=False,
                    details={"code": exc.code},
                    created_at=now,
                )
            )
        raise
    identity = KycIdentity(
        user_id=user.id,
        real_name=name,
        id_number_sealed=id_sealer(ctx.settings).seal(
            number.number.encode(), aad=str(user.id).encode()
        ),
        id_fingerprint=ctx.keyed_hash(FINGERPRINT_PURPOSE, number.number),
        id_masked=number.masked,
        birthday=number.birthday,
        sex=number.sex,
        verified_at=now,
    )
    session.add(identity)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # verified at this instant: by this user, or the number
        mine = await session.execute(
            select(KycIdentity.user_id).where(KycIdentity.user_id == user.id)
        )
        raise (AlreadyVerified() if mine.first() is not None else IdInUse()) from exc
    user.real_name = name
    user.birthday = number.birthday
    user.kyc_tier = max(user.kyc_tier, 1)
    await session.flush()
    return identity


def reveal_id_number(settings: Any, identity: KycIdentity) -> str:
    """The full number (for a check by an authority; never for a page or an endpoint)."""
    token = identity.id_number_sealed
    return id_sealer(settings).open(token, aad=str(identity.user_id).encode()).decode()


# -- tier 2: photos and the application ---------------------------------------------------------
async def _open_application(
    session: Any, user_id: uuid.UUID, *, lock: bool
) -> KycApplication | None:
    stmt = select(KycApplication).where(
        KycApplication.user_id == user_id, KycApplication.status.in_(OPEN_STATUSES)
    )
    if lock:
        stmt = stmt.with_for_update()
    found: KycApplication | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def _may_upload(session: Any, user: User, kind: str, *, lock: bool) -> KycApplication | None:
    """The open application a photo of ``kind`` may go to now (None: a new one is started)."""
    if kind not in DOCUMENT_KINDS:
        raise DocumentKindUnknown()
    if user.kyc_tier >= 2:
        raise AlreadyVerified()
    if await session.get(KycIdentity, user.id) is None:
        raise Tier1First()
    app = await _open_application(session, user.id, lock=lock)
    if app is not None and app.status == "submitted":
        raise UnderReview()
    if app is not None and app.status == "resubmit" and kind != app.resubmit_kind:
        raise OnlyRequestedDocument(document=DOCUMENT_NAMES[app.resubmit_kind or kind])
    return app


async def upload(
    session: Any, ctx: IdentityContext, user: User, kind: str, stream: Readable
) -> KycDocument:
    """Keep one photo (``id_front``, ``id_back`` or ``selfie``) of the user's open application,
    starting a draft if there is none; a photo of the same kind is replaced.

    The file is read with the size cap, recognised by its content and re-encoded off the event
    loop, with the database connection given back meanwhile; the state is checked again under
    a row lock before the photo is stored."""
    settings = ctx.settings.kyc
    await _may_upload(session, user, kind, lock=False)  # refuse early, before reading the file
    await session.flush()
    await release_connection(session)
    data = await read_capped(stream, settings.max_upload_bytes)
    image = await clean_off_loop(
        data,
        max_pixels=settings.max_image_pixels,
        max_side=settings.max_side_px,
        quality=settings.jpeg_quality,
    )
    del data
    app = await _may_upload(session, user, kind, lock=True)
    now = clock_of(session).now()
    if app is None:
        app = KycApplication(user_id=user.id, status="draft", updated_at=now)
        session.add(app)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:  # another upload started the draft at this instant
            app = await _may_upload(session, user, kind, lock=True)
            assert app is not None
    sealed = document_sealer(ctx.settings).seal(image.jpeg, aad=document_aad(app.id, kind))
    doc = (
        await session.execute(
            select(KycDocument).where(
                KycDocument.application_id == app.id, KycDocument.kind == kind
            )
        )
    ).scalar_one_or_none()
    if doc is None:
        doc = KycDocument(application_id=app.id, kind=kind)
        session.add(doc)
    doc.image_sealed = sealed
    doc.size, doc.width, doc.height = len(image.jpeg), image.width, image.height
    doc.uploaded_at = now
    app.updated_at = now
    await session.flush()
    return doc


async def submit(session: Any, user: User) -> KycApplication:
    """Send the open application with its three photos to review (again, after a new photo
    was asked for and uploaded)."""
    if user.kyc_tier >= 2:
        raise AlreadyVerified()
    if await session.get(KycIdentity, user.id) is None:
        raise Tier1First()
    app = await _open_application(session, user.id, lock=True)
    if app is None:
        raise NothingToSubmit()
    if app.status == "submitted":
        raise UnderReview()
    docs = await documents_of(session, app.id)
    missing = [kind for kind in DOCUMENT_KINDS if kind not in docs]
    if missing:
        raise DocumentsMissing()
    if app.status == "resubmit":
        state = Verification(user.kyc_tier, None, app, docs)
        if not state.replaced:
            raise ReplaceFirst(document=DOCUMENT_NAMES[app.resubmit_kind or "selfie"])
    now = clock_of(session).now()
    app.status = "submitted"
    app.submissions += 1
    app.submitted_at = now
    app.updated_at = now
    await session.flush()
    return app


def open_document(settings: Any, doc: KycDocument) -> bytes:
    """A photo's JPEG bytes (for the reviewer; the caller loads ``image_sealed``)."""
    return document_sealer(settings).open(
        doc.image_sealed, aad=document_aad(doc.application_id, doc.kind)
    )
