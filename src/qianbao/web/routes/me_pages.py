"""/me ("我的"): the customer's own corner — who they are, and the way to everything about the
account (security, cards, statements, messages, claims, language, the legal pages, sign out)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.accounts import set_language
from qianbao.identity.phones import mask_name, mask_phone
from qianbao.kernel.http import TxRoute, db_session
from qianbao.notifications import inbox
from qianbao.web.i18n import HTML_LANG
from qianbao.web.routes.account_common import (
    current_caller,
    form_values,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.routes.public import ONE_YEAR
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


@router.get("/me/language", response_class=HTMLResponse)
async def language_page(request: Request) -> Response:
    """One place for the language: the pages, and the SMS and e-mails the account receives."""
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return render(
        request, "account/language.html", {"saved": caller.user.locale, "langs": HTML_LANG}
    )


@router.post("/me/language", response_class=HTMLResponse)
async def language_save(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    code = (await form_values(request)).get("language", "")
    if not await set_language(db_session(request), caller.user, code):
        return redirect("/me/language")
    response = redirect("/me", notice="preferences_saved")
    settings = request.app.state.settings
    response.set_cookie(
        settings.i18n.locale_cookie,
        code,
        max_age=ONE_YEAR,
        httponly=True,
        samesite="lax",
        secure=settings.http.https,
    )
    return response
