"""The merchant API's webhook part (``/api/v1/merchant/webhook-endpoints`` and
``/api/v1/merchant/webhook-deliveries``): where a merchant's events go, the signing secret,
and the delivery log with its attempts.

Reading needs a key with the ``read`` scope; changing an endpoint needs ``payments`` (the key
that asks customers to pay decides where the news of their payments goes). The secret is in the
answer to creating an endpoint and to rotating its secret, and nowhere else."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from qianbao import webhooks
from qianbao.kernel.http import TxRoute, db_session_dep, settings_of
from qianbao.merchants.api import Payer, Reader

router = APIRouter(prefix="/api/v1/merchant", tags=["merchant webhooks"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]


class EndpointIn(BaseModel):
    url: str = Field(max_length=2000, examples=["https://shop.example/qianbao/webhooks"])
    event_types: list[str] = Field(
        max_length=20, examples=[["payment.succeeded", "refund.succeeded"]]
    )
    description: str | None = Field(default=None, max_length=200)


class EndpointPatch(BaseModel):
    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    status: str = Field(description="enabled or disabled")
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="The whsec_ signing secret: shown only in this answer")


class SecretOut(BaseModel):
    secret: str
    previous_valid_until: datetime | None = Field(
        description="Until then deliveries are signed with the previous secret too"
    )


class AttemptOut(BaseModel):
    attempt: int
    started_at: datetime
    status_code: int | None
    duration_ms: int | None
    error: str | None
    response_excerpt: str | None


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: str
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt")
    event_type: str
    status: str = Field(description="pending, succeeded or failed")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    succeeded_at: datetime | None


class DeliveryDetailOut(DeliveryOut):
    url: str
    payload: dict[str, Any]
    attempt_log: list[AttemptOut]


def _endpoint(row: Any) -> EndpointOut:
    return EndpointOut(
        id=str(row.id),
        url=row.url,
        description=row.description,
        event_types=list(row.event_types),
        status=row.status,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        created_at=row.created_at,
    )


def _delivery(row: webhooks.DeliveryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "endpoint_id": str(row.endpoint_id),
        "webhook_id": row.event_id,
        "event_type": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "next_attempt_at": row.next_attempt_at,
        "succeeded_at": row.succeeded_at,
    }


@router.get("/webhook-endpoints", response_model=list[EndpointOut], summary="Your endpoints")
async def list_endpoints(s: DbSession, me: Reader) -> list[EndpointOut]:
    return [_endpoint(e) for e in await webhooks.list_endpoints(s, me.merchant.id)]


@router.post(
    "/webhook-endpoints",
    response_model=EndpointWithSecret,
    status_code=201,
    summary="Register an endpoint (the answer holds its signing secret, once)",
)
async def create_endpoint(
    body: EndpointIn, request: Request, s: DbSession, me: Payer
) -> EndpointWithSecret:
    row, secret = await webhooks.create_endpoint(
        s,
        settings_of(request),
        owner_id=me.merchant.id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
    )
    return EndpointWithSecret(**_endpoint(row).model_dump(), secret=secret)


@router.get("/webhook-endpoints/{endpoint_id}", response_model=EndpointOut, summary="One endpoint")
async def read_endpoint(endpoint_id: str, s: DbSession, me: Reader) -> EndpointOut:
    return _endpoint(await webhooks.get_endpoint(s, me.merchant.id, endpoint_id))


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response_model=EndpointOut,
    summary="Change an endpoint; enabled=false switches it off, true on again",
)
async def update_endpoint(
    endpoint_id: str, body: EndpointPatch, request: Request, s: DbSession, me: Payer
) -> EndpointOut:
    row = await webhooks.update_endpoint(
        s,
        settings_of(request),
        me.merchant.id,
        endpoint_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
    )
    return _endpoint(row)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=SecretOut,
    summary="A new signing secret; the old one keeps signing beside it for the overlap",
)
async def rotate_secret(endpoint_id: str, request: Request, s: DbSession, me: Payer) -> SecretOut:
    settings = settings_of(request)
    secret = await webhooks.rotate_secret(
        s,
        settings,
        request.app.state.clock,
        me.merchant.id,
        endpoint_id,
        overlap_hours=settings.merchants.key_rotation_overlap_hours,
    )
    row = await webhooks.get_endpoint(s, me.merchant.id, endpoint_id)
    return SecretOut(secret=secret, previous_valid_until=row.previous_expires_at)


@router.get(
    "/webhook-deliveries",
    response_model=list[DeliveryOut],
    summary="Deliveries, newest first (page with before_id)",
)
async def list_deliveries(
    s: DbSession,
    me: Reader,
    endpoint_id: str | None = None,
    status: str | None = Query(default=None, pattern="^(pending|succeeded|failed)$"),
    limit: int = Query(default=50, ge=1, le=200),
    before_id: int | None = Query(default=None, ge=1),
) -> list[DeliveryOut]:
    rows = await webhooks.list_deliveries(
        s, me.merchant.id, endpoint_id=endpoint_id, status=status, limit=limit, before_id=before_id
    )
    return [DeliveryOut(**_delivery(r)) for r in rows]


@router.get(
    "/webhook-deliveries/{delivery_id}",
    response_model=DeliveryDetailOut,
    summary="One delivery: the body sent and every attempt",
)
async def read_delivery(delivery_id: str, s: DbSession, me: Reader) -> DeliveryDetailOut:
    found = await webhooks.delivery_detail(s, me.merchant.id, delivery_id)
    return DeliveryDetailOut(
        **_delivery(found.delivery),
        url=found.url,
        payload=found.payload,
        attempt_log=[
            AttemptOut(
                attempt=a.attempt,
                started_at=a.started_at,
                status_code=a.status_code,
                duration_ms=a.duration_ms,
                error=a.error,
                response_excerpt=a.response_excerpt,
            )
            for a in found.attempts
        ],
    )


@router.post(
    "/webhook-deliveries/{delivery_id}/resend",
    response_model=DeliveryOut,
    summary="Send a delivery again now (same webhook-id)",
)
async def resend(delivery_id: str, request: Request, s: DbSession, me: Payer) -> DeliveryOut:
    row = await webhooks.resend(s, request.app.state.clock, me.merchant.id, delivery_id)
    return DeliveryOut(**_delivery(row))
