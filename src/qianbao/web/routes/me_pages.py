"""/me ("我的"): the customer's own corner — who they are, and the way to everything about the
account (security, cards, statements, messages, claims, language, the legal pages, sign out)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.phones import mask_name, mask_phone
from qianbao.kernel.http import TxRoute, db_session
from qianbao.notifications import inbox
from qianbao.web.routes.account_common import current_caller, login_redirect, notice_of
from qianbao.web.templating import render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


@router.get("/me", response_class=HTMLResponse)
async def me_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    user = caller.user
    return render(
        request,
        "account/me.html",
        {
            "name": mask_name(user.real_name),
            "phone_masked": mask_phone(user.phone),
            "tier": user.kyc_tier,
            "frozen": user.frozen_at is not None,
            "pin_set": user.pin_hash is not None,
            "unread": await inbox.unread_count(db_session(request), user.id),
            "notice": notice_of(request),
        },
    )
