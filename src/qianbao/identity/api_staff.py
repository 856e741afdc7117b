"""The identity JSON API, part 3: staff actions under /api/v1/staff."""

from __future__ import annotations

from fastapi import APIRouter, Request

from qianbao.identity import accounts
from qianbao.identity.api_common import (
    DbSession,
    Me,
    user_out,
)
from qianbao.identity.deps import (
    identity_ctx,
)
from qianbao.identity.errors import Forbidden
from qianbao.identity.schemas import (
    StaffCreateIn,
    UserOut,
)
from qianbao.kernel.http import TxRoute

staff = APIRouter(prefix="/api/v1/staff", tags=["staff"], route_class=TxRoute)


# -- staff ---------------------------------------------------------------------------------------
# (Freezing a customer is the agent console's: POST /api/v1/support/customers/{id}/freeze, audited.)
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
