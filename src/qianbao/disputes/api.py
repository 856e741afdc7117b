"""The customer's claims in the JSON API (D4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from qianbao.disputes import claims, files, mistaken
from qianbao.disputes.models import Case, CaseEvent
from qianbao.identity.deps import Caller, client_ip, identity_ctx, require_caller
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of
from qianbao.kernel.money import Money
from qianbao.kernel.translations import gettext
from qianbao.kernel.uploads import Upload

router = APIRouter(prefix="/api/v1/disputes", tags=["disputes"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
# Not "ready": a customer who froze their account must still be able to claim and follow.
Me = Annotated[Caller, Depends(require_caller)]


class ClaimIn(BaseModel):
    transaction_id: str = Field(max_length=40, description="Your wallet transaction's id")
    what_happened: str = Field(max_length=2000)
    shared: Literal["nothing", "sms_code", "pin", "password", "unsure"] = Field(
        description="Did you give anyone a code, your PIN or your password?"
    )
    noticed_at: datetime | None = Field(default=None, description="When you noticed it")
    amount: str | None = Field(
        default=None, max_length=32, description="Part of the amount only (decimal string)"
    )
    freeze: bool = Field(default=False, description="Freeze my account now")


class AppealIn(BaseModel):
    note: str = Field(max_length=2000)


class EventOut(BaseModel):
    kind: str
    note: str | None
    amount: str | None
    at: datetime


class CaseOut(BaseModel):
    id: str
    reference: str
    kind: Literal["unauthorized", "mistaken"]
    status: Literal["asked", "returned", "open", "recommended", "refunded", "rejected", "withdrawn"]
    transaction_id: str
    currency: str
    amount: str
    claimed: str
    held: str = Field(description="What was still in the recipient's wallet and is held")
    refunded: str | None
    decision_reason: str | None
    can_appeal: bool
    ticket: str | None
    created_at: datetime
    timeline: list[EventOut] = []


def _m(minor: int | None, currency: str) -> str | None:
    return Money(minor, currency).to_decimal_string() if minor is not None else None


def case_out(c: Case, events: list[CaseEvent] | None = None, locale: str = "zh_CN") -> CaseOut:
    return CaseOut(
        id=str(c.id),
        reference=c.reference,
        kind=c.kind,
        status=c.status,
        transaction_id=str(c.transaction_id),
        currency=c.currency,
        amount=_m(c.amount, c.currency) or "0",
        claimed=_m(c.claimed, c.currency) or "0",
        held=_m(c.held, c.currency) or "0",
        refunded=_m(c.returned, c.currency) if c.status == "refunded" else None,
        decision_reason=c.decision_reason if c.status in ("refunded", "rejected") else None,
        can_appeal=c.status == "rejected" and c.appealed_at is None,
        ticket=c.ticket_reference,
        created_at=c.created_at,
        timeline=[
            EventOut(
                kind=e.kind,
                note=gettext(locale, e.note) if e.kind == "opened" and e.note else e.note,
                amount=_m(e.amount, c.currency),
                at=e.created_at,
            )
            for e in events or []
        ],
    )


@router.post("/claims", response_model=CaseOut, status_code=201, summary="Claim a transaction")
async def claim(body: ClaimIn, request: Request, s: DbSession, caller: Me) -> CaseOut:
    case = await claims.open_claim(
        s,
        identity_ctx(request),
        caller.user,
        transaction_id=body.transaction_id,
        what_happened=body.what_happened,
        shared=body.shared,
        noticed_at=body.noticed_at,
        claimed=body.amount,
        freeze_account=body.freeze,
        source="api",
        ip=client_ip(request),
    )
    events = await claims.timeline(s, case, public_only=True)
    return case_out(case, events, locale_of(request))


@router.post(
    "/cases/{case_id}/screenshots",
    response_model=CaseOut,
    summary="Add screenshots to my case (multipart, field `files`: PNG, JPEG or PDF, up to 5)",
)
async def screenshots(case_id: str, request: Request, s: DbSession, caller: Me) -> CaseOut:
    """The type is read from the content; a refusal (`disputes.screenshot_refused`) keeps
    nothing. They are shown to the case's agents."""
    form = await request.form(max_files=files.MAX_COUNT + 1, max_fields=10)
    uploads = []
    for name, value in form.multi_items():
        if name == "files" and not isinstance(value, str):
            data = await value.read(files.MAX_BYTES + 1)  # one byte more: refused as too large
            uploads.append(Upload(value.filename or "", data))
    await form.close()
    case = await claims.add_screenshots(s, caller.user, case_id, uploads)
    return case_out(case, await claims.timeline(s, case, public_only=True), locale_of(request))


@router.get("/cases", response_model=list[CaseOut], summary="My cases")
async def my_cases(s: DbSession, caller: Me) -> list[CaseOut]:
    return [case_out(c) for c in await claims.of_user(s, caller.user.id)]


@router.get("/cases/{case_id}", response_model=CaseOut, summary="One case with its timeline")
async def one(case_id: str, request: Request, s: DbSession, caller: Me) -> CaseOut:
    case = await claims.get_own(s, caller.user.id, case_id)
    events = await claims.timeline(s, case, public_only=True)
    return case_out(case, events, locale_of(request))


@router.post("/cases/{case_id}/appeal", response_model=CaseOut, summary="Appeal a rejection once")
async def appeal(
    case_id: str, body: AppealIn, request: Request, s: DbSession, caller: Me
) -> CaseOut:
    case = await claims.appeal(s, identity_ctx(request), caller.user, case_id, note=body.note)
    events = await claims.timeline(s, case, public_only=True)
    return case_out(case, events, locale_of(request))


class MistakenIn(BaseModel):
    transaction_id: str = Field(max_length=40)
    note: str = Field(default="", max_length=500)


class ReturnOut(BaseModel):
    id: str
    reference: str
    status: str
    currency: str
    amount: str
    note: str
    asked_at: datetime
    answer_by: datetime


class PinIn(BaseModel):
    pin: str = Field(max_length=12)


class DeclineIn(BaseModel):
    reason: str = Field(default="", max_length=500)


def return_out(c: Case, locale: str) -> ReturnOut:
    return ReturnOut(
        id=str(c.id),
        reference=c.reference,
        status=c.status,
        currency=c.currency,
        amount=_m(c.claimed, c.currency) or "0",
        note=gettext(locale, c.what_happened),
        asked_at=c.created_at,
        answer_by=c.due_at,
    )


@router.post(
    "/mistaken",
    response_model=CaseOut,
    status_code=201,
    summary="Sent to the wrong person: ask the recipient to send it back",
)
async def mistaken_ask(body: MistakenIn, request: Request, s: DbSession, caller: Me) -> CaseOut:
    case = await mistaken.ask_back(
        s, identity_ctx(request), caller.user, transaction_id=body.transaction_id, note=body.note
    )
    return case_out(case, await claims.timeline(s, case, public_only=True), locale_of(request))


@router.get("/returns", response_model=list[ReturnOut], summary="Money I am asked to send back")
async def returns(request: Request, s: DbSession, caller: Me) -> list[ReturnOut]:
    return [return_out(c, locale_of(request)) for c in await mistaken.asked_of(s, caller.user.id)]


@router.post("/returns/{case_id}/send-back", response_model=ReturnOut, summary="Send it back (PIN)")
async def send_back(
    case_id: str, body: PinIn, request: Request, s: DbSession, caller: Me
) -> ReturnOut:
    case = await mistaken.give_back(s, identity_ctx(request), caller.user, case_id, pin=body.pin)
    return return_out(case, locale_of(request))


@router.post("/returns/{case_id}/decline", response_model=ReturnOut, summary="It was no mistake")
async def decline(
    case_id: str, body: DeclineIn, request: Request, s: DbSession, caller: Me
) -> ReturnOut:
    case = await mistaken.decline(
        s, identity_ctx(request), caller.user, case_id, reason=body.reason
    )
    return return_out(case, locale_of(request))
