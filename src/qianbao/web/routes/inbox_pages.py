"""Messages page: the in-app notifications (newest first) and how to be told about money
movements besides (SMS, e-mail)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.http import TxRoute, db_session
from qianbao.notifications import inbox
from qianbao.web.routes.account_common import (
    current_caller,
    form_values,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    messages = await inbox.inbox(s, caller.user.id, locale_of(request))
    prefs = await inbox.preferences(s, caller.user.id)
    unread = await inbox.unread_count(s, caller.user.id)
    response = render(
        request,
        "wallet/inbox.html",
        {
            "messages": messages,
            "prefs": prefs,
            "unread": unread,
            "notice": notice_of(request),
            "email_verified": caller.user.email_verified_at is not None,
        },
    )
    await inbox.mark_all_read(s, caller.user.id)  # seen now; the page showed which were new
    return response


@router.post("/inbox/preferences", response_class=HTMLResponse)
async def inbox_preferences(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    await inbox.set_preferences(
        db_session(request),
        caller.user.id,
        sms_money=form.get("sms_money") == "on",
        email_money=form.get("email_money") == "on",
        sms_support=form.get("sms_support") == "on",
        email_support=form.get("email_support") == "on",
    )
    return redirect("/inbox", notice="preferences_saved")
