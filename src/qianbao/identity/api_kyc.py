"""The identity verification API (A8): tiers, tier 1 and tier 2 applications.

``GET`` my tier, what each tier unlocks (the limits table), my identity (ID number masked) and
my application; ``POST /basic`` tier 1; ``PUT /documents/{kind}`` a photo (multipart, field
``file``); ``POST /submit`` the application. Refusals are problem+json with a ``kyc.*`` code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, File, Request, UploadFile
from pydantic import BaseModel, Field

from qianbao.identity import kyc
from qianbao.identity.api_common import DbSession, Me
from qianbao.identity.deps import identity_ctx
from qianbao.identity.kyc_errors import DocumentKindUnknown
from qianbao.identity.kyc_id import SEX_NAMES
from qianbao.identity.kyc_review import REASONS
from qianbao.identity.kyc_tiers import TierLimits
from qianbao.kernel.http import TxRoute, locale_of
from qianbao.kernel.money import Money
from qianbao.kernel.translations import gettext

router = APIRouter(
    prefix="/api/v1/me/verification", tags=["identity verification"], route_class=TxRoute
)


class MoneyOut(BaseModel):
    amount: str = Field(description="Decimal string, e.g. '5000.00'")
    currency: str


class ChannelLimitOut(BaseModel):
    channel: str
    single_max: MoneyOut
    daily_max: MoneyOut
    daily_count: int
    monthly_max: MoneyOut
    monthly_count: int


class TierOut(BaseModel):
    tier: int
    limits: list[ChannelLimitOut]


class IdentityOut(BaseModel):
    real_name: str
    id_number: str = Field(description="Masked: the first four and last four characters")
    birthday: date
    sex: Literal["male", "female"]
    verified_at: datetime


class DocumentOut(BaseModel):
    kind: str
    uploaded_at: datetime
    width: int
    height: int


class ReasonOut(BaseModel):
    code: str
    text: str = Field(description="In the language of the request")


class ApplicationOut(BaseModel):
    id: str
    status: Literal["draft", "submitted", "resubmit", "approved", "rejected"]
    submissions: int
    documents: list[DocumentOut]
    missing: list[str]
    submitted_at: datetime | None
    decided_at: datetime | None
    reason: ReasonOut | None = Field(description="Why it was rejected or a photo asked again")
    note: str | None = Field(description="The reviewer's note to you, if any")
    resubmit_document: str | None = Field(description="The photo to replace (status resubmit)")


class VerificationOut(BaseModel):
    tier: int
    next_step: Literal["identity", "documents", "submit", "replace", "wait", "done"]
    identity: IdentityOut | None
    application: ApplicationOut | None
    tiers: list[TierOut] = Field(description="What each tier allows, per channel")


class BasicIn(BaseModel):
    real_name: str = Field(max_length=100, description="As on the ID card")
    id_number: str = Field(max_length=40, description="18 characters; X allowed at the end")
    birthday: str = Field(max_length=20, description="YYYY-MM-DD, as encoded in the number")
    sex: str = Field(max_length=10, description="male or female, as encoded in the number")


def _money(minor: int, currency: str) -> MoneyOut:
    return MoneyOut(amount=Money(minor, currency).to_decimal_string(), currency=currency)


def tiers_out(tiers: list[TierLimits]) -> list[TierOut]:
    return [
        TierOut(
            tier=t.tier,
            limits=[
                ChannelLimitOut(
                    channel=c.channel,
                    single_max=_money(c.single_max, t.currency),
                    daily_max=_money(c.daily_max, t.currency),
                    daily_count=c.daily_count,
                    monthly_max=_money(c.monthly_max, t.currency),
                    monthly_count=c.monthly_count,
                )
                for c in t.channels
            ],
        )
        for t in tiers
    ]


def verification_out(state: kyc.Verification, tiers: list[TierLimits], locale: str) -> Any:
    identity = state.identity
    app = state.application
    return VerificationOut(
        tier=state.tier,
        next_step=state.next_step,
        identity=IdentityOut(
            real_name=identity.real_name,
            id_number=identity.id_masked,
            birthday=identity.birthday,
            sex=SEX_NAMES[identity.sex],
            verified_at=identity.verified_at,
        )
        if identity is not None
        else None,
        application=ApplicationOut(
            id=str(app.id),
            status=app.status,
            submissions=app.submissions,
            documents=[
                DocumentOut(kind=d.kind, uploaded_at=d.uploaded_at, width=d.width, height=d.height)
                for kind in kyc.DOCUMENT_KINDS
                if (d := state.documents.get(kind)) is not None
            ],
            missing=state.missing,
            submitted_at=app.submitted_at,
            decided_at=app.decided_at,
            reason=ReasonOut(code=app.reason_code, text=gettext(locale, REASONS[app.reason_code]))
            if app.reason_code in REASONS and app.status in ("rejected", "resubmit")
            else None,
            note=app.note if app.status in ("rejected", "resubmit") else None,
            resubmit_document=app.resubmit_kind if app.status == "resubmit" else None,
        )
        if app is not None
        else None,
        tiers=tiers_out(tiers),
    )


async def _answer(s: Any, request: Request, caller: Any) -> Any:
    state = await kyc.status(s, caller.user)
    return verification_out(state, await kyc.tier_limits(s), locale_of(request))


@router.get("", response_model=VerificationOut, summary="My verification tier and application")
async def my_verification(request: Request, s: DbSession, caller: Me) -> Any:
    return await _answer(s, request, caller)


@router.post(
    "/basic", response_model=VerificationOut, summary="Tier 1: real name and resident ID number"
)
async def basic(body: BasicIn, request: Request, s: DbSession, caller: Me) -> Any:
    await kyc.verify_basic(
        s,
        identity_ctx(request),
        caller.user,
        real_name=body.real_name,
        id_number=body.id_number,
        birthday=body.birthday,
        sex=body.sex,
    )
    return await _answer(s, request, caller)


@router.put(
    "/documents/{kind}",
    response_model=VerificationOut,
    summary="Tier 2: upload one photo (id_front, id_back or selfie; multipart field 'file')",
)
async def put_document(
    kind: str,
    request: Request,
    s: DbSession,
    caller: Me,
    file: UploadFile = File(description="The photo: JPEG, PNG or WebP (by content)"),
) -> Any:
    if kind not in kyc.DOCUMENT_KINDS:
        raise DocumentKindUnknown()
    await kyc.upload(s, identity_ctx(request), caller.user, kind, file)
    return await _answer(s, request, caller)


@router.post("/submit", response_model=VerificationOut, summary="Tier 2: send the photos to review")
async def submit(request: Request, s: DbSession, caller: Me) -> Any:
    await kyc.submit(s, caller.user)
    return await _answer(s, request, caller)
