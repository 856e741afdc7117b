"""The identity JSON API, part 3: staff actions under /api/v1/staff."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from qianbao.identity import accounts, freeze
from qianbao.identity.api_common import (
    DbSession,
    Me,
    user_out,
)
from qianbao.identity.deps import (
    client_ip,
    identity_ctx,
)
from qianbao.identity.errors import Forbidden
from qianbao.identity.models import User
from qianbao.identity.schemas import (
    FreezeIn,
    StaffCreateIn,
    UserOut,
)
from qianbao.kernel.errors import NotFound
from qianbao.kernel.http import TxRoute

staff = APIRouter(prefix="/api/v1/staff", tags=["staff"], route_class=TxRoute)


# -- staff ---------------------------------------------------------------------------------------
@staff.post(
    "/users/{user_id}/freeze",
    status_code=204,
    summary="Freeze a customer's account with a reason (support, admin)",
)
async def staff_freeze(
    user_id: uuid.UUID, body: FreezeIn, request: Request, s: DbSession, caller: Me
) -> Response:
    if not caller.user.is_staff:
        raise Forbidden()
    target = await s.get(User, user_id)
    if target is None:
        raise NotFound()
    await freeze.freeze(
        s, identity_ctx(request), target, by=caller.user, reason=body.reason, ip=client_ip(request)
    )
    return Response(status_code=204)


@staff.post(
    "/accounts", response_model=UserOut, status_code=201, summary="Create a staff account (admins)"
)
async def staff_create(body: StaffCreateIn, request: Request, s: DbSession, caller: Me) -> UserOut:
    if caller.user.role != "admin":
        raise Forbidden()
    user = await accounts.create_staff(
        s,
        identity_ctx(request),
        phone_raw=body.phone,
        password=body.password,
        role=body.role,
        name=body.name,
    )
    return user_out(user)
