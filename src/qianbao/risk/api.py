"""Operators read the limits table (JSON, behind the operator token); they change it in the
finance console, by four-eyes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.http import TxRoute, db_session_dep, require_operator
from qianbao.kernel.i18n import N_
from qianbao.risk.repository import list_limits

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


class LimitsNeedTwoPeople(DomainError):
    code = "risk.limits_four_eyes"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "Limits change in the finance console: one operator proposes, another approves "
        "(POST /api/v1/finance/changes, or /ops/finance/limits)."
    )


@router.put(
    "/limits/{tier}/{channel}/{currency}",
    response_model=LimitRead,
    summary="Refused: limits change by four-eyes (POST /api/v1/finance/changes)",
    deprecated=True,
)
async def put_limit(tier: int, channel: str, currency: str, body: LimitBody) -> LimitRead:
    """A money setting changes only with a second approver (issue 18, F2): this call, which
    wrote the table with one shared token, is refused."""
    raise LimitsNeedTwoPeople()
