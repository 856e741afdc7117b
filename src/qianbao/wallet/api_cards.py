"""Bound bank cards and accounts in the JSON API. Numbers are only ever shown masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, client_ip, identity_ctx, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of
from qianbao.kernel.translations import gettext
from qianbao.wallet import cards
from qianbao.wallet.banks import mask
from qianbao.wallet.models import BankCard

router = APIRouter(prefix="/api/v1/wallet/cards", tags=["bank cards"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


class CardIn(BaseModel):
    number: str = Field(max_length=64, description="Card number or IBAN")
    holder_name: str = Field(max_length=100)
    pin: str = Field(max_length=12)
    code: str = Field(max_length=12, description="The SMS code from POST /api/v1/wallet/cards/code")


class CardOut(BaseModel):
    id: str
    kind: str
    masked: str
    bank_name: str
    country: str
    holder_name: str
    is_default: bool
    created_at: datetime


def card_out(card: BankCard, locale: str) -> CardOut:
    return CardOut(
        id=str(card.id),
        kind=card.kind,
        masked=mask(card.last4),
        bank_name=gettext(locale, card.bank_name),
        country=card.country,
        holder_name=card.holder_name,
        is_default=card.is_default,
        created_at=card.created_at,
    )


@router.post("/code", status_code=202, summary="Send the SMS code needed to bind a card")
async def bind_code(request: Request, s: DbSession, caller: Me) -> dict[str, str]:
    await cards.request_bind_code(s, identity_ctx(request), caller.user, ip=client_ip(request))
    return {"status": "sent"}


@router.post(
    "",
    status_code=201,
    response_model=CardOut,
    summary="Bind a card or bank account (PIN + SMS code)",
)
async def bind(body: CardIn, request: Request, s: DbSession, caller: Me) -> CardOut:
    card = await cards.bind(
        s,
        identity_ctx(request),
        caller.user,
        number=body.number,
        holder_name=body.holder_name,
        pin=body.pin,
        code=body.code,
    )
    return card_out(card, locale_of(request))


@router.get("", response_model=list[CardOut], summary="My bound cards (masked)")
async def list_cards(request: Request, s: DbSession, caller: Me) -> list[CardOut]:
    return [card_out(c, locale_of(request)) for c in await cards.list_cards(s, caller.user.id)]


@router.post("/{card_id}/default", response_model=CardOut, summary="Make a card the default")
async def make_default(card_id: str, request: Request, s: DbSession, caller: Me) -> CardOut:
    return card_out(await cards.make_default(s, caller.user.id, card_id), locale_of(request))


@router.delete("/{card_id}", status_code=204, summary="Remove a card")
async def remove(card_id: str, request: Request, s: DbSession, caller: Me) -> Response:
    await cards.remove(s, identity_ctx(request), caller.user, card_id)
    return Response(status_code=204)
