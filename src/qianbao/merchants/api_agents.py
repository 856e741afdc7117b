"""The cash agents API (B5).

- ``/api/v1/cash-points``: the nearest points (anyone; ``lat``+``lon`` or ``district``).
- ``/api/v1/agent``: the agent's staff (a ``merchant_staff`` user's bearer token, two-step
  verification on): the float and its bank reference, cash requests (``Idempotency-Key``).
- ``/api/v1/wallet/cash``: the customer: requests waiting, confirm with the PIN, decline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, identity_ctx, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep, settings_of
from qianbao.kernel.money import Money
from qianbao.merchants import agents, cash_operations, dashboard, places
from qianbao.merchants.errors import NotMerchantStaff
from qianbao.merchants.errors_agents import DistrictUnknown, LocationInvalid
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_agents import CashOperation
from qianbao.wallet.errors import IdempotencyKeyMissing

router = APIRouter(tags=["cash agents"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


class MoneyOut(BaseModel):
    amount: str
    currency: str


def _money(minor: int, currency: str) -> MoneyOut:
    return MoneyOut(amount=Money(minor, currency).to_decimal_string(), currency=currency)


class PointOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    city_zh: str
    city_en: str
    district_zh: str
    district_en: str
    address_zh: str
    address_en: str
    latitude: str
    longitude: str
    hours: list[list[str] | None] = Field(description="Monday first, China time; null: closed")
    open_now: bool
    distance_km: str | None
    phone: str | None


class OperationOut(BaseModel):
    id: str
    kind: Literal["cash_in", "cash_out"]
    status: str
    amount: MoneyOut
    commission: MoneyOut = Field(description="Paid by the operator to the agent")
    reference: str
    agent: str = Field(description="The agent's merchant code")
    created_at: datetime
    expires_at: datetime
    transaction_id: str | None


class AgentOut(BaseModel):
    code: str
    float: MoneyOut
    bank_reference: str = Field(description="Write it in a bank transfer's memo to top up")
    commission_in_percent: str
    commission_out_percent: str
    status: str


class RequestIn(BaseModel):
    kind: Literal["cash_in", "cash_out"]
    customer: str = Field(max_length=32, description="Mobile number or payment code")
    amount: str = Field(max_length=24, examples=["500.00"])
    currency: Literal["CNY"] = "CNY"
    id_checked: bool = Field(default=False, description="The agent checked the ID card")


class PinIn(BaseModel):
    pin: str = Field(max_length=32)


def operation_out(op: CashOperation, code: str) -> OperationOut:
    return OperationOut(
        id=str(op.id),
        kind=op.kind,
        status=op.status,
        amount=_money(op.amount, op.currency),
        commission=_money(op.commission, op.currency),
        reference=op.reference,
        agent=code,
        created_at=op.created_at,
        expires_at=op.expires_at,
        transaction_id=str(op.transaction_id) if op.transaction_id else None,
    )


@router.get("/api/v1/cash-points", response_model=list[PointOut], summary="Nearest cash points")
async def cash_points(
    request: Request,
    s: DbSession,
    lat: Annotated[str | None, Query(max_length=16)] = None,
    lon: Annotated[str | None, Query(max_length=16)] = None,
    district: Annotated[str | None, Query(max_length=40)] = None,
) -> list[PointOut]:
    """`cash.location_invalid` (lat/lon not decimal degrees), `cash.district_unknown`."""
    origin = None
    if lat is not None or lon is not None:
        la, lo = places.parse_coordinate(lat or "", 90), places.parse_coordinate(lon or "", 180)
        if la is None or lo is None:
            raise LocationInvalid()
        origin = (la, lo)
    elif district:
        found = places.find_district(district)
        if found is None:
            raise DistrictUnknown()
        origin = (found.lat, found.lon)
    points = await agents.nearest(
        s,
        lat=origin[0] if origin else None,
        lon=origin[1] if origin else None,
        limit=settings_of(request).merchants.agents.nearest_limit,
    )
    return [
        PointOut(
            code=p.merchant.code,
            name_zh=p.merchant.name_zh,
            name_en=p.merchant.name_en,
            city_zh=p.agent.city_zh,
            city_en=p.agent.city_en,
            district_zh=p.agent.district_zh,
            district_en=p.agent.district_en,
            address_zh=p.agent.address_zh,
            address_en=p.agent.address_en,
            latitude=str(p.agent.latitude),
            longitude=str(p.agent.longitude),
            hours=p.agent.hours,
            open_now=p.open_now,
            distance_km=f"{p.distance_km:.2f}" if p.distance_km is not None else None,
            phone=p.agent.phone,
        )
        for p in points
    ]


async def _staffing(s: Any, caller: Caller) -> dashboard.Staffing:
    if caller.user.role != "merchant_staff":
        raise NotMerchantStaff()
    return await dashboard.staffing(s, caller.user)


@router.get("/api/v1/agent", response_model=AgentOut, summary="My cash point (agent staff)")
async def agent_home(s: DbSession, caller: Me) -> AgentOut:
    staffing = await _staffing(s, caller)
    agent = await agents.require_agent(s, staffing.merchant)
    return AgentOut(
        code=staffing.merchant.code,
        float=_money(await agents.float_balance(s, agent), agents.CURRENCY),
        bank_reference=agent.bank_reference,
        commission_in_percent=format(agent.commission_in.normalize(), "f"),
        commission_out_percent=format(agent.commission_out.normalize(), "f"),
        status=agent.status,
    )


@router.post(
    "/api/v1/agent/requests",
    response_model=OperationOut,
    status_code=201,
    summary="Ask a customer to confirm a cash-in or cash-out (agent staff)",
)
async def agent_request(
    body: RequestIn,
    request: Request,
    s: DbSession,
    caller: Me,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> OperationOut:
    """`cash.customer_not_found`, `cash.float_insufficient`, `cash.tier2_required`,
    `cash.id_check_required`, `cash.own_customer`, `cash.agent_paused`, `cash.not_an_agent`,
    `money.*`."""
    if not idempotency_key:
        raise IdempotencyKeyMissing()
    staffing = await _staffing(s, caller)
    op = await cash_operations.request(
        s,
        identity_ctx(request),
        staffing.merchant,
        caller.user,
        kind=body.kind,
        customer=body.customer,
        amount=Money.parse(body.amount, body.currency, allow_zero=False),
        id_checked=body.id_checked,
        key=idempotency_key,
    )
    return operation_out(op, staffing.merchant.code)


@router.get("/api/v1/agent/requests/{op_id}", response_model=OperationOut)
async def agent_request_get(op_id: str, s: DbSession, caller: Me) -> OperationOut:
    staffing = await _staffing(s, caller)
    op = await cash_operations.operation_for_agent(s, staffing.merchant, op_id)
    return operation_out(op, staffing.merchant.code)


@router.post("/api/v1/agent/requests/{op_id}/cancel", response_model=OperationOut)
async def agent_request_cancel(op_id: str, s: DbSession, caller: Me) -> OperationOut:
    staffing = await _staffing(s, caller)
    op = await cash_operations.cancel(s, staffing.merchant, op_id)
    return operation_out(op, staffing.merchant.code)


@router.get(
    "/api/v1/wallet/cash",
    response_model=list[OperationOut],
    summary="Cash requests waiting for my answer",
)
async def waiting(s: DbSession, caller: Me) -> list[OperationOut]:
    return [operation_out(op, m.code) for op, m in await cash_operations.waiting(s, caller.user)]


@router.get("/api/v1/wallet/cash/{op_id}", response_model=OperationOut)
async def cash_request(op_id: str, s: DbSession, caller: Me) -> OperationOut:
    op, _, merchant = await cash_operations.for_customer(s, caller.user, op_id)
    return operation_out(op, merchant.code)


@router.post(
    "/api/v1/wallet/cash/{op_id}/confirm",
    response_model=OperationOut,
    summary="Confirm a cash request with the PIN",
)
async def cash_confirm(
    op_id: str, body: PinIn, request: Request, s: DbSession, caller: Me
) -> OperationOut:
    """`identity.wrong_pin`, `cash.request_expired`, `cash.request_closed`,
    `cash.float_insufficient`, `ledger.insufficient_funds`, `risk.limit_exceeded`,
    `cash.tier2_required`. Confirming twice confirms once."""
    op = await cash_operations.confirm(s, identity_ctx(request), caller.user, op_id, body.pin)
    return operation_out(op, await _agent_code(s, op))


@router.post("/api/v1/wallet/cash/{op_id}/decline", response_model=OperationOut)
async def cash_decline(op_id: str, s: DbSession, caller: Me) -> OperationOut:
    op = await cash_operations.decline(s, caller.user, op_id)
    return operation_out(op, await _agent_code(s, op))


async def _agent_code(s: Any, op: CashOperation) -> str:
    """The agent's merchant code (already in the session when the operation was confirmed)."""
    merchant = await s.get(Merchant, op.agent_id)
    return merchant.code if merchant is not None else ""
