"""Operators read and change the limits table (JSON, behind the operator token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from qianbao.kernel.errors import ValidationFailed
from qianbao.kernel.http import TxRoute, db_session_dep, require_operator
from qianbao.kernel.money import currency as known_currency
from qianbao.risk.limits import CHANNELS, Limit
from qianbao.risk.repository import list_limits, set_limit

router = APIRouter(
    prefix="/api/v1/risk",
    tags=["risk (operators)"],
    route_class=TxRoute,
    dependencies=[Depends(require_operator)],
)
DbSession = Annotated[Any, Depends(db_session_dep)]


class LimitBody(BaseModel):
    single_max: int = Field(ge=0, description="Minor units")
    daily_max: int = Field(ge=0)
    daily_count: int = Field(ge=0)
    monthly_max: int = Field(ge=0)
    monthly_count: int = Field(ge=0)


class LimitRead(LimitBody):
    tier: int
    channel: str
    currency: str


@router.get("/limits", response_model=list[LimitRead], summary="The limits table")
async def get_limits(s: DbSession) -> list[LimitRead]:
    return [LimitRead(**vars(limit)) for limit in await list_limits(s)]


@router.put(
    "/limits/{tier}/{channel}/{currency}", response_model=LimitRead, summary="Change one row"
)
async def put_limit(
    tier: int, channel: str, currency: str, body: LimitBody, s: DbSession
) -> LimitRead:
    if channel not in CHANNELS or not 0 <= tier <= 9:
        raise ValidationFailed()
    known_currency(currency)
    limit = Limit(tier=tier, channel=channel, currency=currency, **body.model_dump())
    await set_limit(s, limit)
    return LimitRead(**vars(limit))
