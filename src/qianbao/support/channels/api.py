"""JSON API: the public check GET /api/v1/verify, the registry for staff under
/api/v1/support/channels (supervisors and admins change it), and call-back requests under
/api/v1/support/callbacks (users ask, staff list and mark done)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from qianbao.identity.deps import Caller, client_ip, require_ready_caller
from qianbao.identity.models import STAFF_ROLES
from qianbao.identity.phones import mask_phone
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of
from qianbao.support.channels import callbacks, service
from qianbao.support.channels.errors import OperatorsOnly, StaffOnly
from qianbao.support.channels.models import CallbackRequest, OfficialChannel
from qianbao.support.channels.schemas import (
    CallbackIn,
    CallbackOut,
    ChannelIn,
    ChannelOut,
    VerifyOut,
)

OPERATOR_ROLES = ("supervisor", "admin")
public = APIRouter(prefix="/api/v1", tags=["official channels"], route_class=TxRoute)
router = APIRouter(prefix="/api/v1/support", tags=["official channels"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


def require_staff(caller: Caller) -> Caller:
    if caller.user.role not in STAFF_ROLES:
        raise StaffOnly()
    return caller


def require_operator(caller: Caller) -> Caller:
    if caller.user.role not in OPERATOR_ROLES:
        raise OperatorsOnly()
    return caller


def _cfg(request: Request) -> Any:
    return request.app.state.settings


def _channel_out(c: OfficialChannel) -> ChannelOut:
    return ChannelOut(
        id=str(c.id),
        kind=c.kind,
        value=c.value,
        label_zh=c.label_zh,
        label_en=c.label_en,
        active=c.active,
        source=c.source,
        created_by=str(c.created_by) if c.created_by else None,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def _callback_out(c: CallbackRequest, *, staff: bool, ticket: Any = None) -> CallbackOut:
    return CallbackOut(
        id=str(c.id),
        status=c.status,
        window=c.time_window,
        topic=c.topic,
        note=c.note,
        phone=c.phone if staff else mask_phone(c.phone),
        created_at=c.created_at,
        done_at=c.done_at,
        ticket=ticket.reference if ticket is not None else None,
    )


@public.get(
    "/verify",
    response_model=VerifyOut,
    summary="Is this phone number, website, e-mail, social account or agent id really ours?",
    description="Answers yes with the channel's label, or no. Limited per client IP "
    "(`429 channels.lookup_limit`).",
)
async def verify(
    request: Request,
    s: DbSession,
    value: Annotated[str, Query(min_length=1, max_length=2000)],
    locale: Literal["zh_CN", "zh_Hant", "en"] | None = None,
) -> VerifyOut:
    settings = _cfg(request)
    loc = locale or locale_of(request)
    await service.check_rate(s, client_ip(request), settings.support)
    await service.ensure_defaults(s, settings.support, settings.identity.default_region)
    answer = await service.lookup(s, value, region=settings.identity.default_region)
    return VerifyOut(
        official=answer.official,
        kind=answer.kind,
        label=answer.label(loc),
        locale=loc,
    )


@router.get("/channels", response_model=list[ChannelOut], summary="The registry (staff)")
async def list_channels(request: Request, s: DbSession, caller: Me) -> list[ChannelOut]:
    require_staff(caller)
    settings = _cfg(request)
    await service.ensure_defaults(s, settings.support, settings.identity.default_region)
    return [_channel_out(c) for c in await service.channels(s)]


@router.post(
    "/channels",
    response_model=ChannelOut,
    status_code=201,
    summary="Add an official channel, or reactivate one (supervisors, admins)",
)
async def add_channel(request: Request, body: ChannelIn, s: DbSession, caller: Me) -> ChannelOut:
    require_operator(caller)
    channel = await service.add_channel(
        s,
        **body.model_dump(),
        actor=caller.user.id,
        region=_cfg(request).identity.default_region,
    )
    return _channel_out(channel)


@router.post(
    "/channels/{channel_id}/deactivate",
    response_model=ChannelOut,
    summary="Deactivate: lookups answer 'not ours' from now on (supervisors, admins)",
)
async def deactivate_channel(channel_id: str, s: DbSession, caller: Me) -> ChannelOut:
    require_operator(caller)
    return _channel_out(await service.deactivate(s, channel_id, actor=caller.user.id))


@router.post(
    "/callbacks",
    response_model=CallbackOut,
    status_code=201,
    summary="Ask to be called back on the account's number (one open request at a time)",
)
async def request_callback(
    request: Request, body: CallbackIn, s: DbSession, caller: Me
) -> CallbackOut:
    created = await callbacks.request(
        s,
        _cfg(request),
        user_id=caller.user.id,
        phone=caller.user.phone,
        window=body.window,
        topic=body.topic,
        note=body.note,
        locale=locale_of(request),
    )
    tickets = await callbacks.tickets_of(s, [created])
    return _callback_out(created, staff=False, ticket=tickets.get(created.id))


@router.get("/callbacks", response_model=list[CallbackOut], summary="Call-back requests (staff)")
async def list_callbacks(
    s: DbSession, caller: Me, status: Literal["new", "done"] = "new"
) -> list[CallbackOut]:
    require_staff(caller)
    found = await callbacks.listing(s, status)
    tickets = await callbacks.tickets_of(s, found)
    return [_callback_out(c, staff=True, ticket=tickets.get(c.id)) for c in found]


@router.post(
    "/callbacks/{callback_id}/done",
    response_model=CallbackOut,
    summary="Mark a call-back request done (staff)",
)
async def callback_done(
    request: Request, callback_id: str, s: DbSession, caller: Me
) -> CallbackOut:
    require_staff(caller)
    done = await callbacks.mark_done(s, _cfg(request), callback_id, actor=caller.user.id)
    tickets = await callbacks.tickets_of(s, [done])
    return _callback_out(done, staff=True, ticket=tickets.get(done.id))
